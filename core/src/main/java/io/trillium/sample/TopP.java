package io.trillium.sample;


/**
 * Nucleus filtering: keeps the smallest set of highest-probability tokens (softmax of the current
 * logits) whose mass is at least {@code p}, always at least one token; the rest become −∞. Ties in
 * the ordering go to the lowest id. {@code p >= 1} keeps everything. Stateless; per-thread scratch.
 */
public record TopP(double p) implements LogitsProcessor {
    public TopP {
        if (!(p >= 0)) throw new IllegalArgumentException("p must be >= 0: " + p);
    }

    @Override
    public void process(float[] logits, SamplingContext context) {
        int n = logits.length;
        if (p >= 1.0 || n == 0) return;
        long[] keys = Scratch.keys(n);
        // only live tokens are sorted: after top-k that is k of them, not the whole vocabulary
        int m = Scratch.candidateKeys(logits, keys);
        if (m <= 1) return;
        java.util.Arrays.sort(keys, 0, m);
        float max = logits[Scratch.id(keys[0])];
        if (max == Float.POSITIVE_INFINITY) return; // no meaningful distribution to cut
        double sum = 0;
        for (int r = 0; r < m; r++) sum += Math.exp((double) logits[Scratch.id(keys[r])] - max);
        double target = p * sum; // compare unnormalised masses: no division per token
        double cum = 0;
        int keep = 0;
        while (keep < m) {
            cum += Math.exp((double) logits[Scratch.id(keys[keep])] - max);
            keep++;
            if (cum >= target) break;
        }
        for (int r = keep; r < m; r++) logits[Scratch.id(keys[r])] = Float.NEGATIVE_INFINITY;
    }
}
