package io.trillium.backend;

import io.trillium.quant.DotKernel;
import io.trillium.quant.Kernels;
import io.trillium.quant.Tensor;

import java.lang.foreign.MemorySegment;

/**
 * The CPU backend: Vector API kernels on the quantized blocks in place, mat-vecs split by rows
 * over a persistent {@link WorkerPool}.
 */
public final class CpuBackend implements ComputeBackend {
    /** Below this many weight bytes a mat-vec runs on the calling thread (hand-off costs more). */
    private static final long PARALLEL_BYTES = 256 * 1024;

    private final WorkerPool pool;
    private final RowsTask rowsTask = new RowsTask();   // one mat-vec at a time: reused, never reallocated

    public CpuBackend(int threads) {
        this.pool = new WorkerPool(threads);
    }

    /** One thread per available processor. */
    public CpuBackend() {
        this(Runtime.getRuntime().availableProcessors());
    }

    @Override
    public void matVec(Tensor w, float[] x, int xOff, float[] y, int yOff) {
        if (w.rank() > 2 && w.dim(2) != 1) {
            throw new IllegalArgumentException(w + ": mat-vec needs a 2-D matrix");
        }
        int n = Math.toIntExact(w.rowLength());
        int rows = Math.toIntExact(w.rowCount());
        DotKernel k = Kernels.simd(w.type());
        long rb = w.rowBytes();
        if (xOff == 0 && yOff == 0) {
            if (rows * rb < PARALLEL_BYTES || pool.threads() == 1 || pool.insideLoop()) {
                k.matVec(w.data(), 0, rb, x, n, y, 0, rows);
            } else {
                RowsTask t = rowsTask;
                t.set(k, w.data(), rb, x, n, y);
                try {
                    pool.parallelFor(rows, 16, t);
                } finally {
                    t.clear();
                }
            }
            return;
        }
        // Offsets: row by row through the dot kernel (small matrices: per-head projections).
        for (int r = 0; r < rows; r++) {
            y[yOff + r] = k.dot(w.data(), r * rb, x, xOff, n);
        }
    }

    /**
     * {@link #matVec(Tensor, float[], int, float[], int)} with both offsets 0, entirely on the calling
     * thread: for work that is already spread over the pool (one expert per worker). Safe to call from
     * several threads at once.
     */
    public static void matVecHere(Tensor w, float[] x, float[] y) {
        DotKernel k = Kernels.simd(w.type());
        k.matVec(w.data(), 0, w.rowBytes(), x, Math.toIntExact(w.rowLength()), y, 0, Math.toIntExact(w.rowCount()));
    }

    @Override
    public int threads() {
        return pool.threads();
    }

    /** The pool, for other data-parallel work (attention heads, experts). */
    public WorkerPool pool() {
        return pool;
    }

    @Override
    public void close() {
        pool.close();
    }

    /** The rows of one mat-vec, split over the pool; its fields are set per call (no allocation). */
    private static final class RowsTask implements WorkerPool.RangeTask {
        private DotKernel k;
        private MemorySegment w;
        private long rowBytes;
        private float[] x;
        private int n;
        private float[] y;

        void set(DotKernel k, MemorySegment w, long rowBytes, float[] x, int n, float[] y) {
            this.k = k;
            this.w = w;
            this.rowBytes = rowBytes;
            this.x = x;
            this.n = n;
            this.y = y;
        }

        void clear() {
            set(null, null, 0, null, 0, null);
        }

        @Override
        public void run(int from, int to) {
            k.matVec(w, 0, rowBytes, x, n, y, from, to);
        }
    }
}
