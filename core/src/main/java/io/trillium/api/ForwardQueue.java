package io.trillium.api;

import io.trillium.model.LanguageModel;

import java.util.ArrayDeque;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The forward passes of a model's sessions, one at a time, with the decode steps of sessions generating at the same
 * time run as one batched pass ({@link LanguageModel#forwardEach}: the weights read once for all of them).
 *
 * <p>Flat combining: a session's decode step is queued, then the session takes the pass lock (fair). Whoever holds
 * the lock runs every step queued by then, its own among them, as one pass, and marks each done; a session whose step
 * was run by another finds it done when it gets the lock and leaves at once. So while one pass runs, the steps of the
 * others gather for the next, and no thread waits for work that is not its own turn. A step is queued before its
 * thread asks for the lock, and taken from the queue only by a lock holder that then completes it before unlocking,
 * so a thread that gets the lock finds its step either done or still queued (never lost); {@code done} is written and
 * read under the lock.
 *
 * <p>Sessions sample their next token on their own threads, so left alone two sessions would take turns: each
 * queues its step just after the other's pass has begun. So a pass waits, up to {@link #GATHER_NANOS}, until every
 * session that is decoding ({@link #decoding}) has queued its step: all of them then advance in one pass.
 *
 * <p>A prompt runs alone, a chunk of {@link #PROMPT_CHUNK} tokens per turn of the lock, so that sessions already
 * decoding wait at most one chunk for a newcomer. The chunks are fixed by the prompt's length alone, so a session's
 * logits do not depend on what else runs; in the default numerics a token's logits are bit for bit the same in any
 * batch (the model's kernels sum in the same order for one token or many).
 */
final class ForwardQueue {
    /** Prompt tokens per turn of the lock (the CPU's prefill batch). */
    static final int PROMPT_CHUNK = 512;
    /** Decode steps one pass takes at most (the rest wait for the next). */
    static final int MAX_BATCH = 64;
    /** How long a pass waits for the steps of decoding sessions still sampling (a slow listener delays others this much). */
    static final long GATHER_NANOS = 5_000_000;

    /** One session's decode step: its own, reused for every step (a session runs one forward at a time). */
    static final class Step {
        final LanguageModel.State state;
        final float[] into;
        final int[] token = new int[1];
        boolean done;                // guarded by the lock
        Throwable failure;           // guarded by the lock

        Step(LanguageModel.State state, float[] into) {
            this.state = state;
            this.into = into;
        }
    }

    private final LanguageModel lm;
    private final ReentrantLock lock = new ReentrantLock(true);
    private final ArrayDeque<Step> queued = new ArrayDeque<>();   // guarded by itself
    private int decoding;                                          // guarded by queued
    private final Step[] batch = new Step[MAX_BATCH];             // guarded by the lock
    private long passes;       // guarded by the lock
    private long steps;        // guarded by the lock
    private int widest;        // guarded by the lock
    private boolean closed;    // guarded by the lock

    ForwardQueue(LanguageModel lm) {
        this.lm = lm;
    }

    /** {@code tokens} through the model for {@code step}'s state; its logits into {@code step.into}. */
    float[] forward(Step step, int[] tokens) {
        if (tokens.length != 1) {
            return prompt(step, tokens);
        }
        step.token[0] = tokens[0];
        synchronized (queued) {
            queued.add(step);
            queued.notifyAll();
        }
        lock.lock();
        try {
            if (!step.done) {
                if (closed) {
                    synchronized (queued) {
                        queued.remove(step);
                    }
                    throw new IllegalStateException("model is closed");
                }
                runQueued();
            }
            Throwable failure = step.failure;
            step.done = false;
            step.failure = null;
            if (failure instanceof RuntimeException e) {
                throw e;
            }
            if (failure instanceof Error e) {
                throw e;
            }
            return step.into;
        } finally {
            lock.unlock();
        }
    }

    private float[] prompt(Step step, int[] tokens) {
        for (int from = 0; from < tokens.length; from += PROMPT_CHUNK) {
            int[] chunk = from == 0 && tokens.length <= PROMPT_CHUNK ? tokens
                    : java.util.Arrays.copyOfRange(tokens, from, Math.min(tokens.length, from + PROMPT_CHUNK));
            lock.lock();
            try {
                ensureOpen();
                float[] logits = lm.forward(step.state, chunk);
                System.arraycopy(logits, 0, step.into, 0, logits.length);
            } finally {
                lock.unlock();
            }
        }
        return step.into;
    }

    /**
     * A session starts ({@code true}) or ends its decode steps: while it decodes, a pass waits for its step (the
     * session's {@code finally} ends it, whatever stopped the generation).
     */
    void decoding(boolean starts) {
        synchronized (queued) {
            decoding += starts ? 1 : -1;
            queued.notifyAll();
        }
    }

    /** Every queued step (up to {@link #MAX_BATCH}) in one pass; each marked done, with its failure if any. */
    private void runQueued() {
        int n = 0;
        synchronized (queued) {
            long deadline = System.nanoTime() + GATHER_NANOS;
            long left;
            while (queued.size() < Math.min(decoding, MAX_BATCH) && (left = deadline - System.nanoTime()) > 0) {
                try {
                    queued.wait(left / 1_000_000, (int) (left % 1_000_000));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();   // run what is queued; the caller sees the flag
                    break;
                }
            }
            while (n < MAX_BATCH && !queued.isEmpty()) {
                batch[n++] = queued.poll();
            }
        }
        try {
            if (n == 1) {   // one session: the plain forward (nothing allocated per step)
                run(batch[0]);
            } else {
                LanguageModel.State[] states = new LanguageModel.State[n];
                int[] tokens = new int[n];
                for (int i = 0; i < n; i++) {
                    states[i] = batch[i].state;
                    tokens[i] = batch[i].token[0];
                }
                float[][] logits;
                try {
                    logits = lm.forwardEach(states, tokens);
                } catch (RuntimeException e) {   // one step's fault must not fail the others: each alone says whose
                    for (int i = 0; i < n; i++) {
                        run(batch[i]);
                    }
                    logits = null;
                }
                if (logits != null) {
                    for (int i = 0; i < n; i++) {
                        System.arraycopy(logits[i], 0, batch[i].into, 0, logits[i].length);
                        batch[i].done = true;
                    }
                }
            }
            passes++;
            steps += n;
            widest = Math.max(widest, n);
        } catch (Error e) {   // out of memory and the like: every step of the pass learns it
            for (int i = 0; i < n; i++) {
                if (!batch[i].done) {
                    batch[i].failure = e;
                    batch[i].done = true;
                }
            }
        } finally {
            java.util.Arrays.fill(batch, 0, n, null);
        }
    }

    private void run(Step s) {
        try {
            float[] logits = lm.forward(s.state, s.token);
            System.arraycopy(logits, 0, s.into, 0, logits.length);
        } catch (RuntimeException e) {
            s.failure = e;
        }
        s.done = true;
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("model is closed");
        }
    }

    /** Passes run, decode steps in them, and the most steps one pass took (tests, metrics). */
    long[] counts() {
        lock.lock();
        try {
            return new long[] {passes, steps, widest};
        } finally {
            lock.unlock();
        }
    }

    /** After a pass in progress: no pass runs again, and {@code close} runs under the lock. */
    void close(Runnable close) {
        lock.lock();
        try {
            if (!closed) {
                closed = true;
                close.run();
            }
        } finally {
            lock.unlock();
        }
    }
}
