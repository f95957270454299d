package io.trillium.kv;

/**
 * The KV cache of MLA (absorbed attention): per layer and token, only the normalised latent
 * {@code c} ({@code kvLora} floats) followed by the rotated shared key {@code k_pe} ({@code rope}
 * floats); keys and values of every head are recomputed from them through attn_k_b / attn_v_b.
 * That is (kv_lora + rope) floats per token per layer instead of heads × (k + v).
 */
public final class LatentKvCache {
    private final int kvLora;
    private final int rope;
    private final int capacity;
    private final float[][] layers;   // [layer][pos · width + i]

    public LatentKvCache(int layers, int kvLora, int rope, int capacity) {
        if (capacity < 1) {
            throw new IllegalArgumentException("context must hold at least one token, got " + capacity);
        }
        long perLayer = (long) capacity * (kvLora + rope);
        if (perLayer > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("a context of " + capacity + " tokens needs " + perLayer
                    + " floats per layer, more than one array holds");
        }
        this.kvLora = kvLora;
        this.rope = rope;
        this.capacity = capacity;
        this.layers = new float[layers][(int) perLayer];
    }

    /** Floats per token: kv_lora + rope. */
    public int width() {
        return kvLora + rope;
    }

    /** Latent width (the first values of a token's entry). */
    public int kvLora() {
        return kvLora;
    }

    /** Tokens the cache holds. */
    public int capacity() {
        return capacity;
    }

    /** Layer {@code l}'s entries: token {@code t} at {@code [t · width(), (t + 1) · width())}. */
    public float[] layer(int l) {
        return layers[l];
    }

    /** Stores {@code entry[0 .. width)} ([c | k_pe]) as token {@code pos} of layer {@code l}. */
    public void put(int l, int pos, float[] entry) {
        System.arraycopy(entry, 0, layers[l], pos * width(), width());
    }
}
