package io.trillium.api;

/**
 * The outcome of a generation.
 *
 * @param text    the generated text (without a stop string or end-of-generation token)
 * @param ids     the generated token ids (without the end-of-generation token; with the tokens that
 *                spelled a stop string)
 * @param finishReason why it ended
 * @param metrics its timings
 */
public record GenerationResult(String text, int[] ids, FinishReason finishReason, Metrics metrics) {
    /** Defensive copy of ids. */
    public GenerationResult {
        ids = ids.clone();
    }

    /** The generated ids (a copy). */
    @Override
    public int[] ids() {
        return ids.clone();
    }

    /** This result, or a {@link CancelledException} if it was cancelled. */
    public GenerationResult orThrowIfCancelled() {
        if (finishReason == FinishReason.CANCELLED) {
            throw new CancelledException("generation cancelled after " + ids.length + " tokens");
        }
        return this;
    }
}
