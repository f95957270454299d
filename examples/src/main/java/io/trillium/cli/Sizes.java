package io.trillium.cli;

import java.math.BigDecimal;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Sizes and bandwidths on the command line: a number with an optional unit k, m, g or t
 * ({@code 512m}, {@code 8g}, {@code 1.5t}; "b", "ib" and for rates "/s" may follow). Sizes are binary
 * ({@code 8g} = 8 GiB, as {@code java -Xmx8g}); bandwidths are decimal ({@code 39g} = 39 GB/s, as
 * hardware data sheets state them).
 */
final class Sizes {
    private static final Pattern FORM = Pattern.compile("(\\d+(?:\\.\\d+)?)\\s*([kmgt]?)(i?b)?(/s)?");
    private static final String UNITS = "kmgt";

    private Sizes() {
    }

    /** Bytes of {@code value} given to {@code option}, binary units; 0 allowed. */
    static long bytes(String option, String value) {
        BigDecimal b = parse(option, value, 1024, false, "512m, 8g, 1.5t");
        try {
            return b.setScale(0, java.math.RoundingMode.HALF_UP).longValueExact();
        } catch (ArithmeticException e) {
            throw new IllegalArgumentException(option + " " + value + ": too large");
        }
    }

    /** Bytes per second of {@code value} given to {@code option}, decimal units; must be > 0. */
    static double bytesPerSecond(String option, String value) {
        double r = parse(option, value, 1000, true, "39g, 3.5g, 800m").doubleValue();
        if (!(r > 0) || Double.isInfinite(r)) {
            throw new IllegalArgumentException(option + " " + value + ": a bandwidth must be > 0");
        }
        return r;
    }

    private static BigDecimal parse(String option, String value, int base, boolean rate, String examples) {
        Matcher m = value == null ? null : FORM.matcher(value.strip().toLowerCase(Locale.ROOT));
        if (m == null || !m.matches() || (m.group(4) != null && !rate)) {
            throw new IllegalArgumentException(option + " '" + value + "': expected a number with an optional unit k, m, g, t"
                    + " (e.g. " + examples + (rate ? ", in bytes/s: 39g = 39 GB/s)" : "; binary: 8g = 8 GiB)"));
        }
        int power = m.group(2).isEmpty() ? 0 : UNITS.indexOf(m.group(2)) + 1;
        return new BigDecimal(m.group(1)).multiply(BigDecimal.valueOf(base).pow(power));
    }
}
