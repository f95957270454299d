package io.trillium.backend;

import io.trillium.quant.DotKernel;
import io.trillium.quant.GgmlType;
import io.trillium.quant.Kernels;
import io.trillium.quant.QuantizedDotKernel;
import io.trillium.quant.Tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * The CPU backend: kernels on the quantized blocks in place, mat-vecs split by rows over a
 * persistent {@link WorkerPool}.
 *
 * <p>By default activations stay float32 (the Vector API fused dequant-dot kernels), so results
 * equal "dequantize the weights, multiply in float". With {@code quantizedActivations} the backend
 * does what llama.cpp's CPU backend does: each mat-vec first quantizes its input vector to Q8_0 /
 * Q8_K and runs the integer route (native int8 dot-product kernels where the bundled library loaded).
 * That is several times faster for K-quants and approximate: the logits move (see the README).
 */
public final class CpuBackend implements ComputeBackend {
    /** Below this many weight bytes a mat-vec runs on the calling thread (hand-off costs more). */
    private static final long PARALLEL_BYTES = 256 * 1024;

    private final WorkerPool pool;
    private final RowsTask rowsTask = new RowsTask();   // one mat-vec at a time: reused, never reallocated
    private final boolean quantizedActivations;
    /** Per-thread Q8 activation buffer of the integer route (grown, never shrunk: no per-token allocation). */
    private final ThreadLocal<MemorySegment[]> xq = ThreadLocal.withInitial(() -> new MemorySegment[1]);

    public CpuBackend(int threads) {
        this(threads, false);
    }

    /**
     * A backend with {@code threads} threads; {@code quantizedActivations} selects the faster,
     * approximate integer route (llama.cpp's numerics) for the weight types that have one.
     */
    public CpuBackend(int threads, boolean quantizedActivations) {
        this.pool = new WorkerPool(threads);
        this.quantizedActivations = quantizedActivations;
    }

    /** Whether mat-vecs quantize their activations (the approximate, fast mode). */
    public boolean quantizedActivations() {
        return quantizedActivations;
    }

    /**
     * The integer-route kernel the fast mode uses for {@code type}: the native kernel, or the Java one
     * where it beats the float route (Q8_0, Q6_K); {@code null}: use the float route.
     */
    static QuantizedDotKernel integerRoute(GgmlType type) {
        QuantizedDotKernel best = Kernels.quantizedBest(type);
        if (best == null) {
            return null;
        }
        boolean isNative = best != Kernels.quantized(type);
        return isNative || type == GgmlType.Q8_0 || type == GgmlType.Q6_K ? best : null;
    }

    /** {@code x[0..n)} quantized into this thread's buffer in {@code k}'s activation type. */
    private MemorySegment quantize(QuantizedDotKernel k, float[] x, int n) {
        GgmlType at = k.activationType();
        long bytes = at.bytesFor(n);
        MemorySegment[] holder = xq.get();
        if (holder[0] == null || holder[0].byteSize() < bytes) {
            holder[0] = Arena.ofAuto().allocate(Math.max(bytes, 64 * 1024), 64);
        }
        Kernels.quantizer(at).quantize(x, 0, holder[0], 0, n);
        return holder[0];
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
        long rb = w.rowBytes();
        QuantizedDotKernel qk = quantizedActivations && xOff == 0 && yOff == 0 ? integerRoute(w.type()) : null;
        if (qk != null) {
            MemorySegment q = quantize(qk, x, n);
            if (rows * rb < PARALLEL_BYTES || pool.threads() == 1 || pool.insideLoop()) {
                qk.matVec(w.data(), 0, rb, q, n, y, 0, rows);
            } else {
                RowsTask t = rowsTask;
                t.setQuantized(qk, w.data(), rb, q, n, y);
                try {
                    pool.parallelFor(rows, 16, t);
                } finally {
                    t.clear();
                }
            }
            return;
        }
        DotKernel k = Kernels.simd(w);
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
    public void matVecHere(Tensor w, float[] x, float[] y) {
        int n = Math.toIntExact(w.rowLength());
        QuantizedDotKernel qk = quantizedActivations ? integerRoute(w.type()) : null;
        if (qk != null) {
            qk.matVec(w.data(), 0, w.rowBytes(), quantize(qk, x, n), n, y, 0, Math.toIntExact(w.rowCount()));
            return;
        }
        DotKernel k = Kernels.simd(w);
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
        private QuantizedDotKernel qk;
        private MemorySegment xq;
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

        void setQuantized(QuantizedDotKernel qk, MemorySegment w, long rowBytes, MemorySegment xq, int n, float[] y) {
            set(null, w, rowBytes, null, n, y);
            this.qk = qk;
            this.xq = xq;
        }

        void clear() {
            set(null, null, 0, null, 0, null);
            qk = null;
            xq = null;
        }

        @Override
        public void run(int from, int to) {
            if (qk != null) {
                qk.matVec(w, 0, rowBytes, xq, n, y, from, to);
            } else {
                k.matVec(w, 0, rowBytes, x, n, y, from, to);
            }
        }
    }
}
