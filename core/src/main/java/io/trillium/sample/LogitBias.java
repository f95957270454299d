package io.trillium.sample;

import java.util.Map;
import java.util.TreeMap;

/**
 * Adds a fixed bias per token id; {@code Float.NEGATIVE_INFINITY} bans the token. Ids outside the
 * vocabulary are ignored. Immutable and stateless.
 */
public final class LogitBias implements LogitsProcessor {
    private final int[] ids;
    private final float[] biases;

    /** A processor adding {@code bias.get(id)} to each listed id's logit ({@code -inf} bans the token). */
    public LogitBias(Map<Integer, Float> bias) {
        TreeMap<Integer, Float> sorted = new TreeMap<>(bias);
        ids = new int[sorted.size()];
        biases = new float[sorted.size()];
        int i = 0;
        for (var e : sorted.entrySet()) {
            float b = e.getValue();
            if (Float.isNaN(b) || b == Float.POSITIVE_INFINITY)
                throw new IllegalArgumentException("bias for " + e.getKey() + " must be finite or -inf: " + b);
            ids[i] = e.getKey();
            biases[i++] = b;
        }
    }

    /** The biases as an id → bias map (a copy). */
    public Map<Integer, Float> asMap() {
        TreeMap<Integer, Float> m = new TreeMap<>();
        for (int i = 0; i < ids.length; i++) m.put(ids[i], biases[i]);
        return m;
    }

    @Override
    public void process(float[] logits, SamplingContext context) {
        for (int i = 0; i < ids.length; i++) {
            int t = ids[i];
            if (t >= 0 && t < logits.length) logits[t] += biases[i];
        }
    }

    @Override
    public String toString() {
        return "LogitBias" + asMap();
    }
}
