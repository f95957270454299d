package io.trillium.sample;

/**
 * Rewrites the logits before sampling (penalties, bias, masks); processors run in the order given,
 * each in place.
 */
@FunctionalInterface
public interface LogitsProcessor {
    /**
     * Rewrites {@code logits} (one value per vocabulary id) in place. The array is the session's buffer,
     * rewritten for the next token: valid only during the call (copy what you keep).
     */
    void process(float[] logits, SamplingContext context);
}
