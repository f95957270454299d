package io.trillium.cli;

import java.util.Locale;

/** Byte sizes as people write them: {@code 512m}, {@code 8g}, {@code 1.5t}, {@code 4096} (binary units). */
final class Sizes {
    private Sizes() {
    }

    /** Bytes of {@code text}; {@code option} names the flag in the error. */
    static long parse(String option, String text) {
        String t = text.strip().toLowerCase(Locale.ROOT);
        if (t.endsWith("ib") || t.endsWith("b") && t.length() > 1 && !Character.isDigit(t.charAt(t.length() - 2))) {
            t = t.substring(0, t.length() - (t.endsWith("ib") ? 2 : 1));   // "8gib", "8gb" = 8g
        }
        int shift = 0;
        if (!t.isEmpty()) {
            switch (t.charAt(t.length() - 1)) {
                case 'k' -> shift = 10;
                case 'm' -> shift = 20;
                case 'g' -> shift = 30;
                case 't' -> shift = 40;
                default -> shift = -1;
            }
            if (shift >= 0) {
                t = t.substring(0, t.length() - 1);
            } else {
                shift = 0;
            }
        }
        double v;
        try {
            v = Double.parseDouble(t);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(option + " " + text + ": not a size (e.g. 512m, 8g, 1.5t, 4096)");
        }
        double bytes = v * (1L << shift);
        if (!(bytes >= 1) || bytes >= 0x1p62) {
            throw new IllegalArgumentException(option + " " + text + ": size must be at least 1 byte and below 4 EiB");
        }
        return (long) bytes;
    }
}
