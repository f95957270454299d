package io.trillium.backend;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * A persistent pool of worker threads for data-parallel loops: {@link #parallelFor} splits
 * {@code [0, n)} into chunks that the workers and the calling thread take in turn. Workers spin
 * briefly, then park, between jobs, so a decode step pays no thread start-up.
 *
 * <p>A loop allocates nothing: the pool has one job slot whose parameters are rewritten per loop.
 * Chunks are claimed with a CAS on one {@code long} that packs the loop's generation (high 32 bits)
 * and the next chunk (low 32 bits), so a worker still busy with a finished loop cannot claim a chunk
 * of the next one: its CAS names the old generation and fails. A successful claim of chunk
 * {@code c < chunks} of generation {@code g} means loop {@code g} is still running, so the parameters
 * the worker read after seeing {@code g} are still {@code g}'s: the caller rewrites them only after
 * every chunk of {@code g} is done and it has closed {@code g} (chunk index set past any count), so no
 * claim of {@code g} can succeed once the next loop's parameters may be visible.
 */
public final class WorkerPool implements AutoCloseable {

    /** The body of a parallel loop over a range of indices. */
    @FunctionalInterface
    public interface RangeTask {
        void run(int from, int to);
    }

    private static final int SPINS = 20_000;
    /** At most this many chunks per participant in a loop (decreasing sizes; see {@link #start}). */
    private static final int CHUNKS_PER_THREAD = 8;
    private static final VarHandle CLAIM;

    static {
        try {
            CLAIM = MethodHandles.lookup().findVarHandle(WorkerPool.class, "claim", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final Thread[] workers;
    private volatile boolean closed;

    // ---- the job slot: plain fields written by the caller before it publishes a new generation in `claim`
    private RangeTask task;
    private int n;
    private int chunks;
    private boolean each;            // one index per chunk (parallelForEach), else guided chunks
    /** generation << 32 | next chunk; written with volatile/CAS semantics through CLAIM. */
    @SuppressWarnings("unused")
    private volatile long claim;
    private final AtomicInteger done = new AtomicInteger();
    private volatile Throwable failure;
    private int generation;          // the caller's copy of the current generation
    private boolean running;         // a loop is in progress (caller side; guards reentrance)

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

    // counted by the caller only (one loop at a time); read by the caller's thread
    private long loops;
    private long waitNanos;

    /** Parallel loops run so far (each ends with a barrier). */
    public long loops() {
        return loops;
    }

    /** Nanoseconds callers spent waiting, after their own chunks, for workers to finish theirs. */
    public long waitNanos() {
        return waitNanos;
    }

    /** Participants: the caller plus the workers. */
    public int threads() {
        return workers.length + 1;
    }

    /** The worker threads (not the callers), e.g. to measure what they allocate. */
    public Thread[] workers() {
        return workers.clone();
    }

    /**
     * Runs {@code task} over {@code [0, n)} in chunks of at least {@code grain} indices and returns
     * when all are done. One loop at a time per pool: a loop started from inside a running loop's task
     * runs on the calling thread. The first exception a chunk throws is rethrown here (an unchecked
     * one as it is); the remaining chunks are skipped.
     */
    public void parallelFor(int n, int grain, RangeTask task) {
        run(n, Math.min(Math.max(1, n / Math.max(1, grain)), threads() * CHUNKS_PER_THREAD), false, task);
    }

    /**
     * Runs {@code task} on each index of {@code [0, n)} on its own ({@code task.run(i, i + 1)}), the indices
     * claimed one at a time in order: for a few uneven items (a prompt's experts, largest first), so that
     * the threads finish together. Otherwise as {@link #parallelFor}.
     */
    public void parallelForEach(int n, RangeTask task) {
        run(n, n, true, task);
    }

    private void run(int n, int chunks, boolean each, RangeTask task) {
        if (closed) {
            throw new IllegalStateException("the worker pool is closed");
        }
        if (chunks <= 1 || workers.length == 0 || running || isWorker()) {
            if (n > 0) {
                task.run(0, n);
            }
            return;
        }
        running = true;
        try {
            this.task = task;
            this.n = n;
            this.chunks = chunks;
            this.each = each;
            this.failure = null;
            done.set(0);
            int g = ++generation;
            CLAIM.setVolatile(this, (long) g << 32);   // publishes the fields above
            for (Thread w : workers) {
                LockSupport.unpark(w);
            }
            work(g);
            loops++;
            if (done.get() < chunks) {   // the caller ran out of chunks: the rest is waiting for the workers
                long t0 = System.nanoTime();
                while (done.get() < chunks) {
                    Thread.onSpinWait();
                }
                waitNanos += System.nanoTime() - t0;
            }
            // Close the loop before anything of the next one is written: a worker that read this loop's
            // claim word and then (racily) the next loop's larger chunk count would otherwise win a CAS on
            // the still-current word, run a chunk with mixed parameters and count it into the next loop.
            CLAIM.setVolatile(this, ((long) g << 32) | Integer.MAX_VALUE);
            this.task = null;   // no reference to the caller's task once it returns
        } finally {
            running = false;
        }
        Throwable f = failure;
        if (f != null) {
            failure = null;
            if (f instanceof RuntimeException re) {
                throw re;
            } else if (f instanceof Error e) {
                throw e;
            }
            throw new IllegalStateException(f);
        }
    }

    /** True on a worker, or on a caller inside a running loop's task: a loop started now would run inline. */
    boolean insideLoop() {
        return running || isWorker();
    }

    private boolean isWorker() {
        Thread t = Thread.currentThread();
        for (Thread w : workers) {
            if (w == t) {
                return true;
            }
        }
        return false;
    }

    /**
     * Where chunk {@code idx} of {@code k} starts: {@code n - n·(k-idx)²/k²}, so chunks shrink linearly
     * from about {@code 2n/k} to nothing (guided scheduling). The participants take the large chunks first
     * and meet at the end on small ones: the caller's wait at the barrier for the last worker is a
     * fraction of the last (smallest) chunk, not of an average one (a worker woken late, or slowed by the
     * other's memory traffic, costs the caller little).
     */
    static int start(int n, int k, int idx) {
        long rest = k - idx;
        return (int) (n - (long) n * rest * rest / ((long) k * k));
    }

    /** Claims and runs chunks of generation {@code g} until none is left; false if there was none. */
    private boolean work(int g) {
        boolean any = false;
        while (true) {
            long c = (long) CLAIM.getVolatile(this);
            if ((int) (c >>> 32) != g) {
                return any;
            }
            RangeTask t = task;   // read after seeing g: g's parameters, or a later loop's (then the CAS fails)
            int len = n;
            int k = chunks;
            boolean one = each;
            int idx = (int) c;
            if (idx >= k) {
                return any;
            }
            if (!CLAIM.compareAndSet(this, c, c + 1)) {
                continue;
            }
            any = true;
            try {
                if (failure == null) {
                    int from = one ? idx : start(len, k, idx), to = one ? idx + 1 : start(len, k, idx + 1);
                    if (from < to) {
                        t.run(from, to);
                    }
                }
            } catch (Throwable e) {
                if (failure == null) {
                    failure = e;
                }
            } finally {
                done.incrementAndGet();
            }
        }
    }

    private void workLoop() {
        int last = 0;
        while (!closed) {
            int g = (int) ((long) CLAIM.getVolatile(this) >>> 32);
            if (g != last) {
                work(g);
                last = g;
                continue;
            }
            for (int i = 0; i < SPINS && (int) ((long) CLAIM.getVolatile(this) >>> 32) == g && !closed; i++) {
                Thread.onSpinWait();
            }
            if ((int) ((long) CLAIM.getVolatile(this) >>> 32) == g && !closed) {
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
}
