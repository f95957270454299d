package io.trillium.gguf;

import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Objects;

/**
 * A metadata array. {@code values} holds, by element type: u8, i8, u16, i16, i32 → {@code int[]};
 * u32, u64, i64 → {@code long[]}; f32 → {@code float[]}; f64 → {@code double[]};
 * bool → {@code boolean[]}; string → {@code List<String>}; array → {@code List<GgufArray>} (each
 * nested array has its own element type). Primitive arrays keep big vocabularies compact.
 * The arrays are not copied: treat them as read-only.
 */
public record GgufArray(GgufValueType elementType, Object values) {

    public GgufArray {
        Objects.requireNonNull(elementType, "elementType");
        Objects.requireNonNull(values, "values");
        switch (elementType) {
            case UINT8, INT8, UINT16, INT16, INT32 -> {
                for (int v : (int[]) need(elementType, values, int[].class)) {
                    GgufValue.checkRange(elementType, v);
                }
            }
            case UINT32 -> {
                for (long v : (long[]) need(elementType, values, long[].class)) {
                    GgufValue.checkRange(elementType, v);
                }
            }
            case UINT64, INT64 -> need(elementType, values, long[].class);
            case FLOAT32 -> need(elementType, values, float[].class);
            case FLOAT64 -> need(elementType, values, double[].class);
            case BOOL -> need(elementType, values, boolean[].class);
            case STRING -> {
                for (Object o : (List<?>) need(elementType, values, List.class)) {
                    need(elementType, o, String.class);
                }
            }
            case ARRAY -> {
                for (Object o : (List<?>) need(elementType, values, List.class)) {
                    need(elementType, o, GgufArray.class);
                }
            }
        }
    }

    private static Object need(GgufValueType type, Object value, Class<?> expected) {
        if (!expected.isInstance(value)) {
            throw new IllegalArgumentException("array of " + type + " needs " + expected.getSimpleName()
                    + " elements, got " + (value == null ? "null" : value.getClass().getSimpleName()));
        }
        return value;
    }

    public static GgufArray ofStrings(List<String> v) {
        return new GgufArray(GgufValueType.STRING, Collections.unmodifiableList(v));
    }

    /** Ints for u8, i8, u16, i16 or i32. */
    public static GgufArray ofInts(GgufValueType type, int... v) {
        return new GgufArray(type, v);
    }

    /** Longs for u32, u64 or i64. */
    public static GgufArray ofLongs(GgufValueType type, long... v) {
        return new GgufArray(type, v);
    }

    public static GgufArray ofFloats(float... v) {
        return new GgufArray(GgufValueType.FLOAT32, v);
    }

    public static GgufArray ofDoubles(double... v) {
        return new GgufArray(GgufValueType.FLOAT64, v);
    }

    public static GgufArray ofBools(boolean... v) {
        return new GgufArray(GgufValueType.BOOL, v);
    }

    public static GgufArray ofArrays(List<GgufArray> v) {
        return new GgufArray(GgufValueType.ARRAY, Collections.unmodifiableList(v));
    }

    /** Number of elements. */
    public int size() {
        return switch (values) {
            case int[] a -> a.length;
            case long[] a -> a.length;
            case float[] a -> a.length;
            case double[] a -> a.length;
            case boolean[] a -> a.length;
            case List<?> l -> l.size();
            default -> throw new IllegalStateException();
        };
    }

    /** Element {@code i} boxed as in {@link GgufValue#value()}. */
    public Object get(int i) {
        return switch (values) {
            case int[] a -> a[i];
            case long[] a -> a[i];
            case float[] a -> a[i];
            case double[] a -> a[i];
            case boolean[] a -> a[i];
            case List<?> l -> l.get(i);
            default -> throw new IllegalStateException();
        };
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof GgufArray a && elementType == a.elementType
                && Arrays.deepEquals(new Object[] {values}, new Object[] {a.values});
    }

    @Override
    public int hashCode() {
        return elementType.hashCode() * 31 + Arrays.deepHashCode(new Object[] {values});
    }

    @Override
    public String toString() {
        int n = size();
        StringBuilder sb = new StringBuilder("[");
        for (int i = 0; i < Math.min(n, 8); i++) {
            sb.append(i == 0 ? "" : ", ").append(get(i) instanceof String s ? '"' + s + '"' : get(i));
        }
        return sb.append(n > 8 ? ", …] (" : "] (").append(n).append(" × ").append(elementType).append(')').toString();
    }
}
