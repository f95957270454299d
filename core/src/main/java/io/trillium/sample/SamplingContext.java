package io.trillium.sample;

import java.util.random.RandomGenerator;

/**
 * What a {@link Sampler} or {@link LogitsProcessor} may look at besides the logits: the tokens so far
 * (prompt and generated) and the request's seeded random generator. Valid only during the call.
 */
public interface SamplingContext {

    /** Number of tokens so far (prompt + generated). */
    int tokenCount();

    /** Token {@code i} of the sequence so far, {@code 0 <= i < tokenCount()}. */
    int token(int i);

    /** Number of generated tokens so far (the last {@code generatedCount()} of the sequence). */
    int generatedCount();

    /** The request's random generator, seeded from its seed: the only randomness a sampler may use. */
    RandomGenerator random();
}
