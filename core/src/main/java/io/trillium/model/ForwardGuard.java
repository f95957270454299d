package io.trillium.model;

import java.util.concurrent.atomic.AtomicReference;

/**
 * The rule "one forward pass at a time per model", enforced where it matters: a model's worker pool, expert
 * source, scratch and device are shared by all of its states, so two forward passes at once would corrupt
 * each other's results silently. A second one fails at once instead. {@code api.Model} serialises its
 * sessions with a fair lock and never gets here concurrently; this catches direct users of
 * {@link LanguageModel}. Allocation-free (the decode loop runs through it).
 */
final class ForwardGuard {
    private final AtomicReference<Thread> running = new AtomicReference<>();

    /** Marks a forward pass as running on this thread; throws if one runs on another thread. */
    void enter() {
        Thread me = Thread.currentThread();
        if (!running.compareAndSet(null, me)) {
            throw new IllegalStateException("a forward pass of this model is already running (on " + running.get()
                    + "): one at a time per model, whatever the state; serialise the calls (api.Model does)");
        }
    }

    /** Ends the pass {@link #enter} began. */
    void exit() {
        running.set(null);
    }
}
