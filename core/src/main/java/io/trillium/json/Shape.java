package io.trillium.json;

/**
 * What a JSON value may look like: the compiled form of a JSON Schema, as plain data the
 * {@link JsonMatcher} walks byte by byte. Shapes may form cycles (a {@code $ref} to an enclosing
 * schema, or "any value" whose members are any values), which is why {@link #minBytes} is a field
 * that {@link JsonSchema} fills in by iterating to a fixed point rather than a recursive method.
 */
abstract sealed class Shape {
    /** No finite document: a saturated "infinite" byte count (sums of a few stay far from overflow). */
    static final int NEVER = Integer.MAX_VALUE / 8;

    /** Fewest bytes of a value of this shape (compact, no whitespace); {@link #NEVER} if none is finite. */
    int minBytes = NEVER;

    static int add(int a, int b) {
        return Math.min(NEVER, a + b);
    }

    /** One of given byte strings exactly: enum and const values, true, false, null (compact JSON). */
    static final class Literals extends Shape {
        final byte[][] values;

        Literals(byte[][] values) {
            this.values = values;
        }
    }

    /** A string of {@code minLength .. maxLength} code points, or (with a pattern, then unbounded) one the pattern matches. */
    static final class Str extends Shape {
        final int minLength;
        final int maxLength;
        final JsonRegex pattern;

        Str(int minLength, int maxLength) {
            this(minLength, maxLength, null);
        }

        Str(int minLength, int maxLength, JsonRegex pattern) {
            this.minLength = minLength;
            this.maxLength = maxLength;
            this.pattern = pattern;
        }
    }

    /**
     * A number; {@code integer}: without fraction or exponent. With bounds ({@code null}: none; open:
     * exclusive) the number is written without exponent.
     */
    static final class Num extends Shape {
        final boolean integer;
        final java.math.BigDecimal min, max;
        final boolean minOpen, maxOpen;

        Num(boolean integer) {
            this(integer, null, false, null, false);
        }

        Num(boolean integer, java.math.BigDecimal min, boolean minOpen, java.math.BigDecimal max, boolean maxOpen) {
            this.integer = integer;
            this.min = min;
            this.minOpen = minOpen;
            this.max = max;
            this.maxOpen = maxOpen;
        }

        boolean bounded() {
            return min != null || max != null;
        }
    }

    /**
     * An object. With declared properties, exactly those may appear, in declared order (the required
     * ones always); without, any keys with values of shape {@link #additional} ({@code null}: the
     * object is always {@code {}}).
     */
    static final class Obj extends Shape {
        final byte[][] keys;        // each key as a JSON string literal, quotes included
        final Shape[] values;
        final boolean[] required;
        final Shape additional;     // only when keys is empty
        /** Fewest bytes after the values of properties {@code 0 .. i-1} were written: {@code ,"k":v} of each required one from i, then '}'. */
        int[] tail;
        /** Fewest bytes from an opening quote of a key (after a comma) when the next property may be i or later. */
        int[] afterComma;

        Obj(byte[][] keys, Shape[] values, boolean[] required, Shape additional) {
            this.keys = keys;
            this.values = values;
            this.required = required;
            this.additional = additional;
        }

        boolean freeForm() {
            return keys.length == 0;
        }

        /** Whether the object may close when the next property would be {@code i}. */
        boolean closable(int i) {
            for (int j = i; j < keys.length; j++) {
                if (required[j]) {
                    return false;
                }
            }
            return true;
        }

        /** The last property index that may come next when it would be {@code i}: the first required one from i, or the end. */
        int lastCandidate(int i) {
            for (int j = i; j < keys.length; j++) {
                if (required[j]) {
                    return j;
                }
            }
            return keys.length - 1;
        }

        /** Fewest bytes after the opening brace (and any whitespace). */
        int afterOpen() {
            if (freeForm()) {
                return 1;
            }
            return closable(0) ? 1 : afterComma[0];
        }

        /** Recomputes {@link #tail} and {@link #afterComma} from the values' current sizes; whether anything changed. */
        boolean update() {
            int n = keys.length;
            int[] t = new int[n + 1];
            int[] c = new int[n + 1];
            t[n] = 1;
            c[n] = NEVER;
            for (int i = n - 1; i >= 0; i--) {
                int prop = add(add(keys[i].length + 1, values[i].minBytes), t[i + 1]);
                t[i] = required[i] ? add(1, prop) : t[i + 1];
                // after a comma: some property k in i..lastCandidate(i), then the tail after it
                c[i] = required[i] ? prop : Math.min(prop, c[i + 1]);
            }
            boolean changed = tail == null || !java.util.Arrays.equals(t, tail) || !java.util.Arrays.equals(c, afterComma);
            tail = t;
            afterComma = c;
            return changed;
        }
    }

    /** An array of {@code minItems .. maxItems} values of shape {@link #items}. */
    static final class Arr extends Shape {
        final Shape items;
        final int minItems;
        final int maxItems;

        Arr(Shape items, int minItems, int maxItems) {
            this.items = items;
            this.minItems = minItems;
            this.maxItems = maxItems;
        }

        /** Fewest bytes once {@code count} items were written: the missing ones with their commas, then ']'. */
        int afterItems(int count) {
            int missing = Math.max(0, minItems - count);
            return missing == 0 ? 1 : add(1, (int) Math.min(NEVER, (long) missing * add(1, items.minBytes)));
        }
    }

    /** Any of several shapes ({@code anyOf}, {@code oneOf}, a list of types). */
    static final class AnyOf extends Shape {
        Shape[] alternatives;

        AnyOf(Shape[] alternatives) {
            this.alternatives = alternatives;
        }
    }

    /** A {@code $ref}: its target is set once the referenced schema is compiled (it may enclose the reference). */
    static final class Ref extends Shape {
        Shape target;
    }
}
