package io.trillium.gguf;

import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalInt;
import java.util.OptionalLong;
import java.util.Set;

/**
 * The key → value metadata of a GGUF file, in file order. Getters convert between compatible
 * types (any integer type for {@link #getLong}, f32 or f64 for {@link #getFloat}); a missing key or
 * an incompatible type throws {@link GgufFormatException} naming the file and the key, so a model
 * loader can simply call the getter of each key it needs. The {@code xxxValue} variants return an
 * empty optional for an absent key (and still throw for a present key of the wrong type).
 */
public final class GgufMetadata {
    private final Path source;
    private final Map<String, GgufValue> map;

    /** Metadata read from (or to be written to) {@code source}; the map's order is kept. */
    public GgufMetadata(Path source, Map<String, GgufValue> map) {
        this.source = source == null ? Path.of("<memory>") : source;
        this.map = Collections.unmodifiableMap(new LinkedHashMap<>(map));
    }

    /** The file this metadata was read from. */
    public Path source() {
        return source;
    }

    public boolean has(String key) {
        return map.containsKey(key);
    }

    /** The keys, in file order. */
    public Set<String> keys() {
        return map.keySet();
    }

    public int size() {
        return map.size();
    }

    /** The whole map, read-only, in file order. */
    public Map<String, GgufValue> asMap() {
        return map;
    }

    public Optional<GgufValue> find(String key) {
        return Optional.ofNullable(map.get(key));
    }

    /** The value of {@code key}; throws if absent. */
    public GgufValue get(String key) {
        GgufValue v = map.get(key);
        if (v == null) {
            throw new GgufFormatException(source, -1, "metadata key '" + key + "' is missing",
                    new NoSuchElementException(key));
        }
        return v;
    }

    private GgufFormatException wrong(String key, GgufValue v, String expected) {
        return new GgufFormatException(source, -1,
                "metadata key '" + key + "' is " + describe(v) + ", expected " + expected);
    }

    private static String describe(GgufValue v) {
        return v.value() instanceof GgufArray a ? "an array of " + a.elementType() : v.type().toString();
    }

    // ---- scalars

    public String getString(String key) {
        GgufValue v = get(key);
        if (v.value() instanceof String s) {
            return s;
        }
        throw wrong(key, v, "STRING");
    }

    /** Any integer type; a u64 beyond {@code Long.MAX_VALUE} is an error. */
    public long getLong(String key) {
        GgufValue v = get(key);
        if (!v.type().isInteger()) {
            throw wrong(key, v, "an integer");
        }
        long x = ((Number) v.value()).longValue();
        if (v.type() == GgufValueType.UINT64 && x < 0) {
            throw wrong(key, v, "a u64 below 2^63, got " + Long.toUnsignedString(x));
        }
        return x;
    }

    /** Any integer type whose value fits an int. */
    public int getInt(String key) {
        long x = getLong(key);
        if (x != (int) x) {
            throw wrong(key, get(key), "an integer that fits 32 bits, got " + x);
        }
        return (int) x;
    }

    /** f32, or f64 narrowed. */
    public float getFloat(String key) {
        return (float) getDouble(key);
    }

    /** f64, or f32 widened. */
    public double getDouble(String key) {
        GgufValue v = get(key);
        if (!v.type().isFloat()) {
            throw wrong(key, v, "FLOAT32 or FLOAT64");
        }
        return ((Number) v.value()).doubleValue();
    }

    public boolean getBoolean(String key) {
        GgufValue v = get(key);
        if (v.value() instanceof Boolean b) {
            return b;
        }
        throw wrong(key, v, "BOOL");
    }

    public String getString(String key, String otherwise) {
        return has(key) ? getString(key) : otherwise;
    }

    public long getLong(String key, long otherwise) {
        return has(key) ? getLong(key) : otherwise;
    }

    public int getInt(String key, int otherwise) {
        return has(key) ? getInt(key) : otherwise;
    }

    public float getFloat(String key, float otherwise) {
        return has(key) ? getFloat(key) : otherwise;
    }

    public boolean getBoolean(String key, boolean otherwise) {
        return has(key) ? getBoolean(key) : otherwise;
    }

    public Optional<String> stringValue(String key) {
        return has(key) ? Optional.of(getString(key)) : Optional.empty();
    }

    public OptionalLong longValue(String key) {
        return has(key) ? OptionalLong.of(getLong(key)) : OptionalLong.empty();
    }

    public OptionalInt intValue(String key) {
        return has(key) ? OptionalInt.of(getInt(key)) : OptionalInt.empty();
    }

    /** A float key (f32 or f64) widened to double. */
    public OptionalDouble doubleValue(String key) {
        return has(key) ? OptionalDouble.of(getDouble(key)) : OptionalDouble.empty();
    }

    public Optional<Boolean> booleanValue(String key) {
        return has(key) ? Optional.of(getBoolean(key)) : Optional.empty();
    }

    // ---- arrays

    public GgufArray getArray(String key) {
        GgufValue v = get(key);
        if (v.value() instanceof GgufArray a) {
            return a;
        }
        throw wrong(key, v, "an array");
    }

    public Optional<GgufArray> arrayValue(String key) {
        return has(key) ? Optional.of(getArray(key)) : Optional.empty();
    }

    /** A string array, read-only. */
    @SuppressWarnings("unchecked")
    public List<String> getStringArray(String key) {
        GgufArray a = getArray(key);
        if (a.elementType() != GgufValueType.STRING) {
            throw wrong(key, get(key), "an array of STRING");
        }
        return (List<String>) a.values();
    }

    /** An integer array whose values all fit an int (a copy for u32/u64/i64 elements). */
    public int[] getIntArray(String key) {
        GgufArray a = getArray(key);
        if (a.values() instanceof int[] ints) {
            return ints;
        }
        if (a.values() instanceof long[] longs) {
            int[] out = new int[longs.length];
            for (int i = 0; i < longs.length; i++) {
                if (longs[i] != (int) longs[i]) {
                    throw wrong(key, get(key), "int values, element " + i + " is " + longs[i]);
                }
                out[i] = (int) longs[i];
            }
            return out;
        }
        throw wrong(key, get(key), "an integer array");
    }

    /** Any integer array, as longs (a copy for the int-backed element types). */
    public long[] getLongArray(String key) {
        GgufArray a = getArray(key);
        if (a.values() instanceof long[] longs) {
            return longs;
        }
        if (a.values() instanceof int[] ints) {
            long[] out = new long[ints.length];
            for (int i = 0; i < ints.length; i++) {
                out[i] = ints[i];
            }
            return out;
        }
        throw wrong(key, get(key), "an integer array");
    }

    /** An f32 array (or f64 narrowed, a copy). */
    public float[] getFloatArray(String key) {
        GgufArray a = getArray(key);
        if (a.values() instanceof float[] f) {
            return f;
        }
        if (a.values() instanceof double[] d) {
            float[] out = new float[d.length];
            for (int i = 0; i < d.length; i++) {
                out[i] = (float) d[i];
            }
            return out;
        }
        throw wrong(key, get(key), "a FLOAT32 or FLOAT64 array");
    }

    public boolean[] getBooleanArray(String key) {
        GgufArray a = getArray(key);
        if (a.values() instanceof boolean[] b) {
            return b;
        }
        throw wrong(key, get(key), "a BOOL array");
    }

    @Override
    public String toString() {
        return "GgufMetadata" + map;
    }
}
