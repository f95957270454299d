package io.trillium.sample;


/**
 * Keeps the {@code k} highest logits (ties at the cut → lowest ids) and sets the rest to −∞.
 * {@code k <= 0} or {@code k >= vocabulary} keeps everything (llama.cpp's "disabled"). Stateless;
 * per-thread scratch.
 */
public record TopK(int k) implements LogitsProcessor {
    @Override
    public void process(float[] logits, SamplingContext context) {
        int n = logits.length;
        if (k <= 0 || k >= n) return;
        long[] keys = Scratch.keys(n);
        int m = Scratch.candidateKeys(logits, keys); // tokens already at −∞ need no second look
        if (m <= k) return;
        Scratch.select(keys, m, k);
        for (int r = k; r < m; r++) logits[Scratch.id(keys[r])] = Float.NEGATIVE_INFINITY;
    }
}
