package io.trillium.sample;


/**
 * The final random draw: softmax of the logits (double accumulation) and one uniform
 * {@code nextDouble()} from {@link SamplingContext#random()}, walked over ids in ascending order, so a
 * seed reproduces the choice. −∞ logits have probability 0 and are never chosen. If every logit is
 * −∞ (or NaN) it falls back to the argmax. Stateless, allocation-free.
 */
public final class Draw implements Sampler {
    /** The shared instance (stateless). */
    public static final Draw INSTANCE = new Draw();

    private Draw() {}

    @Override
    public int sample(float[] logits, SamplingContext context) {
        int n = logits.length;
        int best = Scratch.argmax(logits);
        double max = logits[best];
        if (!Double.isFinite(max)) return best;
        double sum = 0;
        for (int i = 0; i < n; i++) {
            double e = Math.exp(logits[i] - max); // NaN > x is false below, so NaN is never picked
            if (e > 0) sum += e;
        }
        double u = context.random().nextDouble() * sum;
        double cum = 0;
        int last = best;
        for (int i = 0; i < n; i++) {
            double e = Math.exp(logits[i] - max);
            if (!(e > 0)) continue;
            cum += e;
            last = i;
            if (u < cum) return i;
        }
        return last; // rounding left u >= the re-summed total: the last token with mass
    }

    @Override
    public String toString() {
        return "Draw";
    }
}
