package io.trillium.sample;

/**
 * Chooses the next token from the logits of the last position. Host applications implement it to
 * plug in their own decoding rule; the built-ins come from {@code Samplers}.
 * Implementations must take all randomness from {@link SamplingContext#random()}, so that a fixed
 * seed reproduces a run.
 */
@FunctionalInterface
public interface Sampler {
    /**
     * @param logits one value per vocabulary id, already through the request's {@link LogitsProcessor}s;
     *               the sampler may modify it in place; the array is the session's buffer, rewritten for the
     *               next token, so it is valid only during the call (copy what you keep)
     * @return the chosen token id
     */
    int sample(float[] logits, SamplingContext context);
}
