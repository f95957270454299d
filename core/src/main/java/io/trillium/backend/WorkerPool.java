package io.trillium.backend;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;

/**
 * A persistent pool of worker threads for data-parallel loops: {@link #parallelFor} splits
 * {@code [0, n)} into chunks that the workers and the calling thread take in turn. Workers spin
 * briefly, then park, between jobs, so a decode step pays no thread start-up.
 */
public final class WorkerPool implements AutoCloseable {

    /** The body of a parallel loop over a range of indices. */
    @FunctionalInterface
    public interface RangeTask {
        void run(int from, int to);
    }

    private static final int SPINS = 20_000;

    private final Thread[] workers;
    private final AtomicReference<Job> current = new AtomicReference<>();
    private volatile boolean closed;

    /** A pool with {@code threads} participants in all: the caller plus {@code threads - 1} workers. */
    public WorkerPool(int threads) {
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be >= 1, got " + threads);
        }
        workers = new Thread[threads - 1];
        for (int i = 0; i < workers.length; i++) {
            workers[i] = Thread.ofPlatform().daemon().name("trillium-worker-" + i).start(this::workLoop);
        }
    }

    /** Participants: the caller plus the workers. */
    public int threads() {
        return workers.length + 1;
    }

    /**
     * Runs {@code task} over {@code [0, n)} in chunks of at least {@code grain} indices and returns
     * when all are done. Not reentrant: one loop at a time per pool.
     */
    public void parallelFor(int n, int grain, RangeTask task) {
        if (closed) {
            throw new IllegalStateException("the worker pool is closed");
        }
        int chunks = Math.min(Math.max(1, n / Math.max(1, grain)), threads() * 4);
        if (chunks <= 1 || workers.length == 0) {
            task.run(0, n);
            return;
        }
        Job job = new Job(task, n, chunks);
        current.set(job);
        for (Thread w : workers) {
            LockSupport.unpark(w);
        }
        job.work();
        while (job.done.get() < chunks) {
            Thread.onSpinWait();
        }
        current.compareAndSet(job, null);
        Throwable f = job.failure;
        if (f instanceof RuntimeException re) {
            throw re;
        } else if (f instanceof Error e) {
            throw e;
        } else if (f != null) {
            throw new IllegalStateException(f);
        }
    }

    private void workLoop() {
        Job last = null;
        while (!closed) {
            Job job = current.get();
            if (job != null && job != last) {
                job.work();
                last = job;
                continue;
            }
            for (int i = 0; i < SPINS && current.get() == job && !closed; i++) {
                Thread.onSpinWait();
            }
            if (current.get() == job && !closed) {
                LockSupport.parkNanos(this, 1_000_000);
            }
        }
    }

    @Override
    public void close() {
        closed = true;
        for (Thread w : workers) {
            LockSupport.unpark(w);
        }
    }

    private static final class Job {
        final RangeTask task;
        final int n;
        final int chunks;
        final AtomicInteger next = new AtomicInteger();
        final AtomicInteger done = new AtomicInteger();
        volatile Throwable failure;

        Job(RangeTask task, int n, int chunks) {
            this.task = task;
            this.n = n;
            this.chunks = chunks;
        }

        void work() {
            for (int c; (c = next.getAndIncrement()) < chunks; ) {
                try {
                    if (failure == null) {
                        task.run((int) ((long) n * c / chunks), (int) ((long) n * (c + 1) / chunks));
                    }
                } catch (Throwable t) {
                    failure = t;
                } finally {
                    done.incrementAndGet();
                }
            }
        }
    }
}
