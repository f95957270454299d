package io.trillium.gguf;

import java.util.List;
import java.util.Objects;

/**
 * One metadata value. Java types by GGUF type: u8, i8, u16, i16, i32 → {@link Integer};
 * u32, u64, i64 → {@link Long} (a u64 above {@code Long.MAX_VALUE} keeps its bits and reads negative);
 * f32 → {@link Float}; f64 → {@link Double}; bool → {@link Boolean}; string → {@link String};
 * array → {@link GgufArray}.
 */
public record GgufValue(GgufValueType type, Object value) {

    public GgufValue {
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(value, "value");
        switch (type) {
            case UINT8, INT8, UINT16, INT16, INT32 -> checkRange(type, ((Integer) cast(type, value, Integer.class)));
            case UINT32 -> checkRange(type, (Long) cast(type, value, Long.class));
            case UINT64, INT64 -> cast(type, value, Long.class);
            case FLOAT32 -> cast(type, value, Float.class);
            case FLOAT64 -> cast(type, value, Double.class);
            case BOOL -> cast(type, value, Boolean.class);
            case STRING -> cast(type, value, String.class);
            case ARRAY -> cast(type, value, GgufArray.class);
        }
    }

    private static Object cast(GgufValueType type, Object value, Class<?> expected) {
        if (!expected.isInstance(value)) {
            throw new IllegalArgumentException(type + " needs a " + expected.getSimpleName() + ", got "
                    + value.getClass().getSimpleName());
        }
        return value;
    }

    /** Throws unless {@code v} fits the integer {@code type} (u64/i64 always fit). */
    static void checkRange(GgufValueType type, long v) {
        long lo, hi;
        switch (type) {
            case UINT8 -> { lo = 0; hi = 0xFF; }
            case INT8 -> { lo = Byte.MIN_VALUE; hi = Byte.MAX_VALUE; }
            case UINT16 -> { lo = 0; hi = 0xFFFF; }
            case INT16 -> { lo = Short.MIN_VALUE; hi = Short.MAX_VALUE; }
            case UINT32 -> { lo = 0; hi = 0xFFFF_FFFFL; }
            case INT32 -> { lo = Integer.MIN_VALUE; hi = Integer.MAX_VALUE; }
            default -> { return; }
        }
        if (v < lo || v > hi) {
            throw new IllegalArgumentException(v + " does not fit " + type);
        }
    }

    public static GgufValue u8(int v) { return new GgufValue(GgufValueType.UINT8, v); }
    public static GgufValue i8(int v) { return new GgufValue(GgufValueType.INT8, v); }
    public static GgufValue u16(int v) { return new GgufValue(GgufValueType.UINT16, v); }
    public static GgufValue i16(int v) { return new GgufValue(GgufValueType.INT16, v); }
    public static GgufValue u32(long v) { return new GgufValue(GgufValueType.UINT32, v); }
    public static GgufValue i32(int v) { return new GgufValue(GgufValueType.INT32, v); }
    public static GgufValue u64(long v) { return new GgufValue(GgufValueType.UINT64, v); }
    public static GgufValue i64(long v) { return new GgufValue(GgufValueType.INT64, v); }
    public static GgufValue f32(float v) { return new GgufValue(GgufValueType.FLOAT32, v); }
    public static GgufValue f64(double v) { return new GgufValue(GgufValueType.FLOAT64, v); }
    public static GgufValue bool(boolean v) { return new GgufValue(GgufValueType.BOOL, v); }
    public static GgufValue string(String v) { return new GgufValue(GgufValueType.STRING, v); }
    public static GgufValue array(GgufArray v) { return new GgufValue(GgufValueType.ARRAY, v); }

    /** A string array value. */
    public static GgufValue strings(List<String> v) {
        return array(GgufArray.ofStrings(v));
    }

    /** The value as a long if it is any integer type. */
    public boolean isInteger() {
        return type.isInteger();
    }

    @Override
    public String toString() {
        return switch (type) {
            case STRING -> '"' + (String) value + '"';
            default -> value.toString();
        } + " (" + type + ")";
    }
}
