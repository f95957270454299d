package io.trillium.api;

/**
 * A generation was cancelled. The generation methods of {@link Session} do not throw it (they
 * return with {@link FinishReason#CANCELLED}); it is for callers who want to turn a cancelled
 * {@link GenerationResult} into an exception, see {@link GenerationResult#orThrowIfCancelled()}.
 */
public class CancelledException extends TrilliumException {
    /** An exception with a message. */
    public CancelledException(String message) {
        super(message);
    }
}
