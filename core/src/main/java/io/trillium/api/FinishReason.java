package io.trillium.api;

/** Why a generation ended. */
public enum FinishReason {
    /** {@link GenerationRequest#maxTokens()} tokens were generated. */
    LENGTH,
    /**
     * The model produced an end-of-generation token (not part of the output), or, under a
     * {@link GenerationRequest#responseFormat() response format}, the JSON document is complete.
     */
    STOP_TOKEN,
    /** The output reached one of the request's stop strings (not part of the output). */
    STOP_STRING,
    /** {@link Session#cancel()} or the request's {@link CancellationToken} cancelled it. */
    CANCELLED
}
