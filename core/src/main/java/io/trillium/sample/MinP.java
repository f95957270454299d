package io.trillium.sample;


/**
 * Drops (sets to −∞) every token whose probability is below {@code minP · p_max}. Since
 * {@code p_i / p_max = exp(l_i − l_max)}, that is a plain logit threshold, no softmax needed.
 * The argmax always survives. {@code minP <= 0} keeps everything. Stateless.
 */
public record MinP(double minP) implements LogitsProcessor {
    /** Checks the threshold (values {@code <= 0} keep every token). */
    public MinP {
        if (Double.isNaN(minP)) throw new IllegalArgumentException("minP is NaN");
    }

    @Override
    public void process(float[] logits, SamplingContext context) {
        if (minP <= 0 || logits.length == 0) return;
        float max = logits[Scratch.argmax(logits)];
        if (!Float.isFinite(max)) return;
        double threshold = max + Math.log(Math.min(minP, 1.0));
        for (int i = 0; i < logits.length; i++) if (logits[i] < threshold) logits[i] = Float.NEGATIVE_INFINITY;
    }
}
