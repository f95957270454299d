package io.trillium.json;

import io.trillium.json.JsonMatcher.Config;
import io.trillium.json.JsonMatcher.Frame;
import io.trillium.json.JsonMatcher.Out;

import java.math.BigDecimal;
import java.math.RoundingMode;

import static io.trillium.json.JsonMatcher.push;

/** The frames of a number: JSON's grammar with bounded digit counts, and numbers within bounds. */
final class NumberFrames {
    static final int MAX_INT_DIGITS = 15;
    static final int MAX_FRACTION_DIGITS = 15;
    static final int MAX_EXPONENT_DIGITS = 2;   // with 15 integer digits: below 1e115, a finite double

    private NumberFrames() {
    }

    /** The frame before a number's first byte. */
    static Frame start(Shape.Num n) {
        return n.bounded() ? new BoundedNum(n, false, "", false) : new Num(n.integer, Num.START, 0);
    }

    /** Fewest bytes of a number of this shape. */
    static int minBytes(Shape.Num n) {
        return n.bounded() ? new BoundedNum(n, false, "", false).cost() : 1;
    }

    /** A number: JSON's grammar, with bounded digit counts. */
    static final class Num extends Frame {
        static final int START = 0, MINUS = 1, ZERO = 2, INT = 3, DOT = 4, FRACTION = 5, E = 6, E_SIGN = 7, EXPONENT = 8;
        private final boolean integer;
        private final int state;
        private final int digits;   // in the current part

        Num(boolean integer, int state, int digits) {
            this.integer = integer;
            this.state = state;
            this.digits = digits;
        }

        @Override
        int cost() {
            return state == ZERO || state == INT || state == FRACTION || state == EXPONENT ? 0 : 1;
        }

        @Override
        boolean canEnd() {
            return cost() == 0;
        }

        private void to(int state, int digits, Config below, Out out) {
            out.add(push(new Num(integer, state, digits), below));
        }

        @Override
        void step(int b, Config below, Out out) {
            boolean digit = b >= '0' && b <= '9';
            switch (state) {
                case START, MINUS -> {
                    if (b == '-' && state == START) {
                        to(MINUS, 0, below, out);
                    } else if (b == '0') {
                        to(ZERO, 1, below, out);
                    } else if (digit) {
                        to(INT, 1, below, out);
                    }
                }
                case ZERO, INT -> {
                    if (digit && state == INT && digits < NumberFrames.MAX_INT_DIGITS) {
                        to(INT, digits + 1, below, out);
                    } else if (!integer && b == '.') {
                        to(DOT, 0, below, out);
                    } else if (!integer && (b == 'e' || b == 'E')) {
                        to(E, 0, below, out);
                    }
                }
                case DOT, FRACTION -> {
                    if (digit && digits < NumberFrames.MAX_FRACTION_DIGITS) {
                        to(FRACTION, digits + 1, below, out);
                    } else if (state == FRACTION && (b == 'e' || b == 'E')) {
                        to(E, 0, below, out);
                    }
                }
                case E, E_SIGN -> {
                    if (state == E && (b == '+' || b == '-')) {
                        to(E_SIGN, 0, below, out);
                    } else if (digit) {
                        to(EXPONENT, 1, below, out);
                    }
                }
                default -> {
                    if (digit && digits < NumberFrames.MAX_EXPONENT_DIGITS) {
                        to(EXPONENT, digits + 1, below, out);
                    }
                }
            }
        }
    }

    /**
     * A number within bounds ({@code minimum}, {@code maximum}, exclusive or not), written without
     * exponent: {@code mag} is the magnitude written so far ("", "12", "12.", "12.5"). A prefix is kept
     * only while some completion of it lies within the bounds, and its cost is the fewest bytes to such
     * a completion, found by trying completions of 0, 1, 2, … more bytes (exact decimal arithmetic).
     */
    static final class BoundedNum extends Frame {
        private static final BigDecimal TEN = BigDecimal.TEN;
        private final Shape.Num shape;
        private final boolean negative;
        private final boolean signed;   // the '-' is written (then negative)
        private final String mag;
        private final int cost;

        BoundedNum(Shape.Num shape, boolean negative, String mag, boolean signed) {
            this.shape = shape;
            this.negative = negative;
            this.signed = signed;
            this.mag = mag;
            this.cost = signed || !mag.isEmpty() ? magCost(negative, mag) : Math.min(magCost(false, ""), Shape.add(1, magCost(true, "")));
        }

        @Override
        int cost() {
            return cost;
        }

        @Override
        boolean canEnd() {
            return cost == 0;
        }

        @Override
        void step(int b, Config below, Out out) {
            String next = null;
            boolean neg = negative;
            boolean sign = signed;
            int dot = mag.indexOf('.');
            int intDigits = dot < 0 ? mag.length() : dot;
            if (b == '-' && mag.isEmpty() && !signed) {
                neg = true;
                sign = true;
                next = "";
            } else if (b >= '0' && b <= '9') {
                if (dot < 0 && !mag.equals("0") && intDigits < MAX_INT_DIGITS) {
                    next = mag + (char) b;
                } else if (dot >= 0 && mag.length() - dot - 1 < MAX_FRACTION_DIGITS) {
                    next = mag + (char) b;
                }
            } else if (b == '.' && !shape.integer && dot < 0 && !mag.isEmpty()) {
                next = mag + '.';
            }
            if (next != null) {
                BoundedNum f = new BoundedNum(shape, neg, next, sign);
                if (f.cost < Shape.NEVER) {
                    out.add(push(f, below));
                }
            }
        }

        /** Fewest more bytes that complete a magnitude prefix to a number within the bounds; NEVER if none. */
        private int magCost(boolean neg, String m) {
            // the magnitude's interval: [lo, hi] of the value, negated for a negative number
            BigDecimal lo = neg ? negate(shape.max) : shape.min;
            BigDecimal hi = neg ? negate(shape.min) : shape.max;
            boolean loOpen = neg ? shape.maxOpen : shape.minOpen;
            boolean hiOpen = neg ? shape.minOpen : shape.maxOpen;
            if (lo == null || lo.signum() < 0) {
                lo = BigDecimal.ZERO;   // a magnitude is never negative ("-0" is zero)
                loOpen = false;
            }
            if (hi != null && (hi.compareTo(lo) < 0 || (hi.compareTo(lo) == 0 && (hiOpen || loOpen)))) {
                return Shape.NEVER;
            }
            int dot = m.indexOf('.');
            if (dot < 0 && !m.isEmpty() && hi != null) {
                // the smallest completion is the integer itself: past the upper bound, nothing completes
                int c = new BigDecimal(m).compareTo(hi);
                if (c > 0 || (c == 0 && hiOpen)) {
                    return Shape.NEVER;
                }
            }
            int maxMore = 2 + MAX_INT_DIGITS + MAX_FRACTION_DIGITS - m.length();
            for (int more = 0; more <= maxMore; more++) {
                if (completes(m, more, lo, loOpen, hi, hiOpen)) {
                    return more;
                }
            }
            return Shape.NEVER;
        }

        /** Whether some completion of {@code m} with exactly {@code more} bytes lies in the interval. */
        private boolean completes(String m, int more, BigDecimal lo, boolean loOpen, BigDecimal hi, boolean hiOpen) {
            int dot = m.indexOf('.');
            if (dot >= 0) {   // fraction digits only
                int frac = m.length() - dot - 1;
                if (frac + more > MAX_FRACTION_DIGITS || frac + more == 0) {
                    return false;
                }
                BigDecimal v = new BigDecimal(m.endsWith(".") ? m + "0" : m);
                BigDecimal width = BigDecimal.ONE.movePointLeft(frac);   // completions lie in [v, v + 10^-frac)
                return grid(v, v.add(width), true, frac + more, lo, loOpen, hi, hiOpen);
            }
            int k = m.length();
            // integer digits only
            if (more > 0 || k > 0) {
                BigDecimal[] r = intRange(m, more);
                if (r != null && grid(r[0], r[1], false, 0, lo, loOpen, hi, hiOpen)) {
                    return true;
                }
            }
            if (shape.integer) {
                return false;
            }
            // i more integer digits, the dot, f >= 1 fraction digits
            for (int i = 0; i + 2 <= more; i++) {
                int f = more - i - 1;
                if (f > MAX_FRACTION_DIGITS || (k == 0 && i == 0)) {
                    continue;
                }
                BigDecimal[] r = intRange(m, i);
                if (r != null && grid(r[0], r[1].add(BigDecimal.ONE), true, f, lo, loOpen, hi, hiOpen)) {
                    return true;
                }
            }
            return false;
        }

        /** The integers that {@code m} and {@code i} more digits can write: [first, last], or null. */
        private static BigDecimal[] intRange(String m, int i) {
            int k = m.length();
            if (k + i > MAX_INT_DIGITS || (k + i == 0)) {
                return null;
            }
            if (m.equals("0")) {
                return i == 0 ? new BigDecimal[]{BigDecimal.ZERO, BigDecimal.ZERO} : null;
            }
            if (k == 0) {   // a first digit: 0 alone, or 1-9 then any digits
                return i == 1 ? new BigDecimal[]{BigDecimal.ZERO, BigDecimal.valueOf(9)}
                        : new BigDecimal[]{TEN.pow(i - 1), TEN.pow(i).subtract(BigDecimal.ONE)};
            }
            BigDecimal base = new BigDecimal(m).multiply(TEN.pow(i));
            return new BigDecimal[]{base, base.add(TEN.pow(i)).subtract(BigDecimal.ONE)};
        }

        /**
         * Whether a multiple of 10^-scale lies in [from, to] ({@code toOpen}: [from, to)) and within the
         * bounds [lo, hi] (open ends as given; hi null: unbounded).
         */
        private static boolean grid(BigDecimal from, BigDecimal to, boolean toOpen, int scale, BigDecimal lo, boolean loOpen,
                                    BigDecimal hi, boolean hiOpen) {
            BigDecimal step = BigDecimal.ONE.movePointLeft(scale);
            BigDecimal start = from.max(lo);
            BigDecimal g = start.setScale(scale, RoundingMode.CEILING);
            if (loOpen && g.compareTo(lo) == 0) {
                g = g.add(step);
            }
            if (g.compareTo(from) < 0) {
                g = g.add(step);
            }
            int c = g.compareTo(to);
            if (c > 0 || (c == 0 && toOpen)) {
                return false;
            }
            if (hi != null) {
                int h = g.compareTo(hi);
                return h < 0 || (h == 0 && !hiOpen);
            }
            return true;
        }

        private static BigDecimal negate(BigDecimal x) {
            return x == null ? null : x.negate();
        }
    }
}
