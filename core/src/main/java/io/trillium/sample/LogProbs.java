package io.trillium.sample;

/** Log-probabilities from logits (double accumulation, shifted by the maximum so nothing overflows). */
public final class LogProbs {
    private LogProbs() {
    }

    /** log Σ exp(logits): the log of the softmax's normaliser; −∞ entries add nothing. */
    public static double logSumExp(float[] logits) {
        float max = Float.NEGATIVE_INFINITY;
        for (float l : logits) {
            max = Math.max(max, l);
        }
        double sum = 0;
        for (float l : logits) {
            sum += Math.exp(l - max);
        }
        return max + Math.log(sum);
    }
}
