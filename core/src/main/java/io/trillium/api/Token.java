package io.trillium.api;

import io.trillium.sample.LogitsProcessor;

/**
 * One streamed step of a generation.
 *
 * @param id      the generated token id, or {@link #NONE} for the final flush of held-back text
 * @param text    text released by this step, safe to print: never a split UTF-8 sequence and never
 *                (part of) a stop string; may be empty when text is held back and released later
 * @param logprob natural log of the chosen token's probability under the final distribution
 *                (log-softmax of the logits after the request's {@link LogitsProcessor}s);
 *                {@link Double#NaN} for {@link #NONE}
 */
public record Token(int id, String text, double logprob) {
    /** The id of the last, token-less step that releases held-back text when the generation ends. */
    public static final int NONE = -1;

    /** Whether this is the final flush of held-back text rather than a generated token. */
    public boolean isFlush() {
        return id == NONE;
    }
}
