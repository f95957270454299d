package io.trillium.kv;

/**
 * A standard K/V cache: per layer one float array of keys and one of values, each laid out
 * {@code [capacity × kvHeads × headDim]} (position-major), so one position's heads are contiguous.
 */
public final class KvCache {
    private final int capacity;
    private final int kvHeads;
    private final int headDimK;
    private final int headDimV;
    private final float[][] keys;
    private final float[][] values;

    public KvCache(int layers, int capacity, int kvHeads, int headDimK, int headDimV) {
        if (capacity < 1) {
            throw new IllegalArgumentException("KV cache capacity must be >= 1, got " + capacity);
        }
        long perLayer = (long) capacity * kvHeads * Math.max(headDimK, headDimV);
        if (perLayer > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("a context of " + capacity + " tokens needs " + perLayer
                    + " floats per layer: too large for one array");
        }
        this.capacity = capacity;
        this.kvHeads = kvHeads;
        this.headDimK = headDimK;
        this.headDimV = headDimV;
        this.keys = new float[layers][capacity * kvHeads * headDimK];
        this.values = new float[layers][capacity * kvHeads * headDimV];
    }

    /** Positions the cache holds. */
    public int capacity() {
        return capacity;
    }

    /** The keys of {@code layer}. */
    public float[] keys(int layer) {
        return keys[layer];
    }

    /** The values of {@code layer}. */
    public float[] values(int layer) {
        return values[layer];
    }

    /** Offset of the key of {@code kvHead} at {@code pos} in {@link #keys(int)}. */
    public int keyOffset(int pos, int kvHead) {
        return (pos * kvHeads + kvHead) * headDimK;
    }

    /** Offset of the value of {@code kvHead} at {@code pos} in {@link #values(int)}. */
    public int valueOffset(int pos, int kvHead) {
        return (pos * kvHeads + kvHead) * headDimV;
    }
}
