package io.trillium.backend;

import io.trillium.quant.DotKernel;
import io.trillium.quant.Kernels;
import io.trillium.quant.Tensor;

/**
 * The CPU backend: Vector API kernels on the quantized blocks in place, mat-vecs split by rows
 * over a persistent {@link WorkerPool}.
 */
public final class CpuBackend implements ComputeBackend {
    /** Below this many weight bytes a mat-vec runs on the calling thread (hand-off costs more). */
    private static final long PARALLEL_BYTES = 256 * 1024;

    private final WorkerPool pool;

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
            if (rows * rb < PARALLEL_BYTES || pool.threads() == 1) {
                k.matVec(w.data(), 0, rb, x, n, y, 0, rows);
            } else {
                pool.parallelFor(rows, 16, (from, to) -> k.matVec(w.data(), 0, rb, x, n, y, from, to));
            }
            return;
        }
        // Offsets: row by row through the dot kernel (small matrices: per-head projections).
        for (int r = 0; r < rows; r++) {
            y[yOff + r] = k.dot(w.data(), r * rb, x, xOff, n);
        }
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
}
