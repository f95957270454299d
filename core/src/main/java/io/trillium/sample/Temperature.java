package io.trillium.sample;


/**
 * Divides the logits by {@code T}. {@code T <= 0} is the greedy limit: every logit but the argmax
 * (ties → lowest id) becomes −∞, so any later draw picks the argmax. Stateless.
 */
public record Temperature(float temperature) implements LogitsProcessor {
    public Temperature {
        if (Float.isNaN(temperature)) throw new IllegalArgumentException("temperature is NaN");
    }

    @Override
    public void process(float[] logits, SamplingContext context) {
        int keep = Scratch.argmax(logits);
        float inv = 1f / temperature;
        if (temperature <= 0f || Float.isInfinite(inv)) {
            mask(logits, keep);
            return;
        }
        if (temperature == 1f) return;
        for (int i = 0; i < logits.length; i++) logits[i] *= inv;
        // T so small that the top logit overflowed: that is the greedy limit anyway
        if (logits.length > 0 && Float.isInfinite(logits[keep])) {
            logits[keep] = 0f; // only its rank matters now, and it must stay drawable
            mask(logits, keep);
        }
    }

    private static void mask(float[] logits, int keep) {
        for (int i = 0; i < logits.length; i++) if (i != keep) logits[i] = Float.NEGATIVE_INFINITY;
    }
}
