package io.trillium.api;

/**
 * A flag another thread sets to cancel the generations that carry it (see
 * {@link GenerationRequest.Builder#cancellation}). Thread-safe; once cancelled it stays cancelled.
 */
public final class CancellationToken {
    private volatile boolean cancelled;

    /** A token that is not cancelled. */
    public CancellationToken() {
    }

    /** Requests cancellation; a generation carrying this token stops before its next token. */
    public void cancel() {
        cancelled = true;
    }

    /** Whether {@link #cancel()} was called. */
    public boolean isCancelled() {
        return cancelled;
    }
}
