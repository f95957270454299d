package io.trillium.backend;

import io.trillium.quant.DotKernel;
import io.trillium.quant.GgmlType;
import io.trillium.quant.Kernels;
import io.trillium.quant.Numerics;
import io.trillium.quant.QuantizedDotKernel;
import io.trillium.quant.Tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * The CPU backend: kernels on the quantized blocks in place, mat-vecs split by rows over a
 * persistent {@link WorkerPool}.
 *
 * <p>{@link Numerics#QUANTIZED} (the default) does what llama.cpp's CPU backend does: each mat-vec
 * first quantizes its input vector to Q8_0 / Q8_K and runs the integer route (native int8
 * dot-product kernels where the bundled library loaded, the Java integer route otherwise).
 * {@link Numerics#EXACT} keeps float32 activations (the Vector API fused dequant-dot kernels), so
 * results equal "dequantize the weights, multiply in float"; several times slower for K-quants.
 */
public final class CpuBackend implements ComputeBackend {
    /** Below this many weight bytes a mat-vec runs on the calling thread (hand-off costs more). */
    private static final long PARALLEL_BYTES = 256 * 1024;

    private final WorkerPool pool;
    private final RowsTask rowsTask = new RowsTask();   // one mat-vec at a time: reused, never reallocated
    private final Numerics numerics;
    /** Per-thread buffer of a batch's quantized activations (matMul; grown, never shrunk). */
    private final ThreadLocal<MemorySegment[]> batchXq = ThreadLocal.withInitial(() -> new MemorySegment[1]);
    /** Per-thread Q8 activation buffer of the integer route (grown, never shrunk: no per-token allocation). */
    private final ThreadLocal<MemorySegment[]> xq = ThreadLocal.withInitial(() -> new MemorySegment[1]);

    /** A backend with {@code threads} threads and the default numerics ({@link Numerics#DEFAULT}). */
    public CpuBackend(int threads) {
        this(threads, Numerics.DEFAULT);
    }

    /** A backend with {@code threads} threads computing with {@code numerics}. */
    public CpuBackend(int threads, Numerics numerics) {
        this.pool = new WorkerPool(threads);
        this.numerics = java.util.Objects.requireNonNull(numerics, "numerics");
    }

    /** How mat-vecs treat their activations. */
    public Numerics numerics() {
        return numerics;
    }

    /**
     * The integer-route kernel the quantized mode uses for {@code type}: the native kernel where the
     * library loaded, else the Java integer route, so that the numerics do not depend on the machine;
     * {@code null} where neither exists (float route).
     */
    static QuantizedDotKernel integerRoute(GgmlType type) {
        return Kernels.quantizedBest(type);
    }

    /** The integer route of {@code type} in this backend's numerics; {@code null}: the float route. */
    private QuantizedDotKernel route(GgmlType type) {
        return numerics == Numerics.QUANTIZED ? integerRoute(type) : null;
    }

    /** {@code x[xOff .. xOff + n)} quantized into this thread's buffer in {@code k}'s activation type. */
    private MemorySegment quantize(QuantizedDotKernel k, float[] x, int xOff, int n) {
        GgmlType at = k.activationType();
        long bytes = at.bytesFor(n);
        MemorySegment[] holder = xq.get();
        if (holder[0] == null || holder[0].byteSize() < bytes) {
            holder[0] = Arena.ofAuto().allocate(Math.max(bytes, 64 * 1024), 64);
        }
        Kernels.quantizer(at).quantize(x, xOff, holder[0], 0, n);
        return holder[0];
    }

    /** One thread per available processor, the default numerics. */
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
        QuantizedDotKernel qk = route(w.type());
        DotKernel k = qk == null ? Kernels.simd(w) : null;
        if (qk == null && (xOff != 0 || yOff != 0)) {
            // offsets on the float route: row by row through the dot kernel (small per-head products)
            for (int r = 0; r < rows; r++) {
                y[yOff + r] = k.dot(w.data(), r * rb, x, xOff, n);
            }
            return;
        }
        // offsets on the integer route: this thread's scratch, so that one kernel call takes all rows
        float[] xs = x;
        float[] ys = y;
        if (xOff != 0 || yOff != 0) {
            float[][] scratch = offsetScratch.get();
            if (xOff != 0) {
                xs = scratch[0] = grow(scratch[0], n);
                System.arraycopy(x, xOff, xs, 0, n);
            }
            if (yOff != 0) {
                ys = scratch[1] = grow(scratch[1], rows);
            }
        }
        MemorySegment q = qk != null ? quantize(qk, xs, 0, n) : null;
        if (rows * rb < PARALLEL_BYTES || pool.threads() == 1 || pool.insideLoop()) {
            if (qk != null) {
                qk.matVec(w.data(), 0, rb, q, n, ys, 0, rows);
            } else {
                k.matVec(w.data(), 0, rb, xs, n, ys, 0, rows);
            }
        } else {
            RowsTask t = rowsTask;
            if (qk != null) {
                t.setQuantized(qk, w.data(), rb, q, n, ys);
            } else {
                t.set(k, w.data(), rb, xs, n, ys);
            }
            try {
                pool.parallelFor(rows, 16, t);
            } finally {
                t.clear();
            }
        }
        if (ys != y) {
            System.arraycopy(ys, 0, y, yOff, rows);
        }
    }

    private final ThreadLocal<float[][]> offsetScratch = ThreadLocal.withInitial(() -> new float[2][]);

    private static float[] grow(float[] a, int n) {
        return a != null && a.length >= n ? a : new float[Math.max(n, 1024)];
    }

    /**
     * A batch of tokens through {@code w}: {@code y[yOff + t·yStride + r] = row(r) · x[xOff + t·xStride ..]}
     * for {@code t < tokens}. Rows are split over the pool in chunks small enough to stay in cache while
     * every token's activations pass over them, so the weights come from memory once per batch, not
     * once per token (prefill).
     */
    public void matMul(Tensor w, float[] x, int xOff, int xStride, float[] y, int yOff, int yStride, int tokens) {
        if (w.rank() > 2 && w.dim(2) != 1) {
            throw new IllegalArgumentException(w + ": mat-mul needs a 2-D matrix");
        }
        int n = Math.toIntExact(w.rowLength());
        int rows = Math.toIntExact(w.rowCount());
        long rb = w.rowBytes();
        QuantizedDotKernel qk = route(w.type());
        // each token's activations quantized once for all rows, token t at q[t * qStride]
        long qStride = qk != null ? qk.activationType().bytesFor(n) : 0;
        MemorySegment q = qk != null ? quantizeBatch(qk.activationType(), x, xOff, xStride, n, tokens) : null;
        DotKernel k = qk == null ? Kernels.simd(w) : null;
        MemorySegment wd = w.data();
        // Quantized: one batched call per chunk of rows (each row's blocks unpacked once for several tokens;
        // every (row, token) bit-identical to a mat-vec of that token). Float: the mat-vec kernel per token,
        // called as a mat-vec calls it (offset 0, absolute row ranges), into a scratch the chunk is copied out of.
        WorkerPool.RangeTask task = (from, to) -> {
            float[][] scratch = offsetScratch.get();
            float[] xs = k != null ? (scratch[0] = grow(scratch[0], n)) : null;
            float[] ys = k != null ? (scratch[1] = grow(scratch[1], rows)) : null;
            for (int r0 = from; r0 < to; r0 += MATMUL_ROWS) {
                int r1 = Math.min(to, r0 + MATMUL_ROWS);
                if (q != null) {
                    qk.matMul(wd, 0, rb, q, qStride, tokens, n, y, yOff, yStride, r0, r1);
                    continue;
                }
                for (int t = 0; t < tokens; t++) {
                    System.arraycopy(x, xOff + t * xStride, xs, 0, n);
                    k.matVec(wd, 0, rb, xs, n, ys, r0, r1);
                    System.arraycopy(ys, r0, y, yOff + t * yStride + r0, r1 - r0);
                }
            }
        };
        if ((long) rows * rb * tokens < PARALLEL_BYTES || pool.threads() == 1 || pool.insideLoop()) {
            task.run(0, rows);
        } else {
            pool.parallelFor(rows, MATMUL_ROWS, task);
        }
    }

    /** {@code tokens} vectors of {@code x} quantized to {@code at} into this thread's batch buffer, back to back. */
    private MemorySegment quantizeBatch(GgmlType at, float[] x, int xOff, int xStride, int n, int tokens) {
        long stride = at.bytesFor(n);
        MemorySegment[] holder = batchXq.get();
        if (holder[0] == null || holder[0].byteSize() < stride * tokens) {
            holder[0] = Arena.ofAuto().allocate(Math.max(stride * tokens, 1 << 20), 64);
        }
        MemorySegment dst = holder[0];
        WorkerPool.RangeTask quantize = (from, to) -> {   // tokens are independent: over the pool
            for (int t = from; t < to; t++) {
                Kernels.quantizer(at).quantize(x, xOff + t * xStride, dst, t * stride, n);
            }
        };
        if (tokens >= 4 && pool.threads() > 1 && !pool.insideLoop()) {
            pool.parallelFor(tokens, 2, quantize);
        } else {
            quantize.run(0, tokens);
        }
        return dst;
    }

    /** Rows a batched product takes through all tokens before the next rows (a few KiB each: stays in L2). */
    private static final int MATMUL_ROWS = 32;

    /**
     * {@link #matVec(Tensor, float[], int, float[], int)} with both offsets 0, entirely on the calling
     * thread: for work that is already spread over the pool (one expert per worker). Safe to call from
     * several threads at once.
     */
    public void matVecHere(Tensor w, float[] x, float[] y) {
        int n = Math.toIntExact(w.rowLength());
        QuantizedDotKernel qk = route(w.type());
        if (qk != null) {
            qk.matVec(w.data(), 0, w.rowBytes(), quantize(qk, x, 0, n), n, y, 0, Math.toIntExact(w.rowCount()));
            return;
        }
        DotKernel k = Kernels.simd(w);
        k.matVec(w.data(), 0, w.rowBytes(), x, Math.toIntExact(w.rowLength()), y, 0, Math.toIntExact(w.rowCount()));
    }

    /**
     * A batch of tokens through {@code w} entirely on the calling thread (one expert's tokens, while other
     * experts run on the other workers): {@code y[t·yStride + r] = row(r) · x[t·xStride ..]}. Each (row,
     * token) is bit for bit what {@link #matVecHere} gives for that token alone. Safe to call from several
     * threads at once.
     */
    public void matMulHere(Tensor w, float[] x, int xStride, int tokens, float[] y, int yStride) {
        matMulPairHere(w, null, x, xStride, tokens, y, null, yStride);
    }

    /**
     * {@link #matMulHere} through {@code a} and, when not null, {@code b} (an expert's gate and up): each
     * token quantized once for both where they take the same integer route.
     */
    public void matMulPairHere(Tensor a, Tensor b, float[] x, int xStride, int tokens, float[] ya, float[] yb,
                               int yStride) {
        int n = Math.toIntExact(a.rowLength());
        QuantizedDotKernel qa = route(a.type());
        QuantizedDotKernel qb = b == null ? null : route(b.type());
        boolean shared = qa != null && (b == null || qb != null && qb.activationType() == qa.activationType()
                && b.rowLength() == a.rowLength());
        if (!shared || tokens == 1) {   // float route, mixed routes, or one token: as its mat-vecs
            float[][] scratch = offsetScratch.get();
            float[] xs = scratch[0] = grow(scratch[0], n);
            float[] ys = scratch[1] = grow(scratch[1], Math.toIntExact(Math.max(a.rowCount(),
                    b == null ? 0 : b.rowCount())));
            for (int t = 0; t < tokens; t++) {
                System.arraycopy(x, t * xStride, xs, 0, n);
                matVecHere(a, xs, ys);
                System.arraycopy(ys, 0, ya, t * yStride, Math.toIntExact(a.rowCount()));
                if (b != null) {
                    matVecHere(b, xs, ys);
                    System.arraycopy(ys, 0, yb, t * yStride, Math.toIntExact(b.rowCount()));
                }
            }
            return;
        }
        long qStride = qa.activationType().bytesFor(n);
        MemorySegment q = quantizeBatch(qa.activationType(), x, 0, xStride, n, tokens);   // this thread's buffer
        qa.matMul(a.data(), 0, a.rowBytes(), q, qStride, tokens, n, ya, 0, yStride, 0, Math.toIntExact(a.rowCount()));
        if (b != null) {
            qb.matMul(b.data(), 0, b.rowBytes(), q, qStride, tokens, n, yb, 0, yStride, 0,
                    Math.toIntExact(b.rowCount()));
        }
    }

    /** {@code ya = a·x}, {@code yb = b·x}: one quantization of x and one parallel loop over both matrices' rows. */
    @Override
    public void matVecPair(Tensor a, Tensor b, float[] x, float[] ya, float[] yb) {
        if (pool.insideLoop()) {   // already on the pool: this thread, and no shared task state
            matVecHere(a, b, x, ya, yb);
            return;
        }
        pairW[0] = a;
        pairW[1] = b;
        pairX[0] = x;
        pairX[1] = x;
        pairY[0] = ya;
        pairY[1] = yb;
        try {
            matVecs(pairW, pairX, pairY, 2);
        } finally {
            java.util.Arrays.fill(pairW, null);
            java.util.Arrays.fill(pairX, null);
            java.util.Arrays.fill(pairY, null);
        }
    }

    // matVecPair's operands for matVecs (one pair at a time, like rowsTask: no allocation per call)
    private final Tensor[] pairW = new Tensor[2];
    private final float[][] pairX = new float[2][];
    private final float[][] pairY = new float[2][];
    private final ManyTask manyTask = new ManyTask();   // one many-mat-vec loop at a time, like rowsTask

    /**
     * {@code y[i] = w[i] · x[i]} for {@code i < count} (2-D matrices) as one parallel loop over all of their
     * rows: the chosen experts' down matrices of a decode step, MLA's q_a and kv_a. Rows are handed out in shrinking chunks
     * whatever matrix they belong to, so the threads finish together (whole matrices per thread leave one
     * waiting for the other's last). Each input is quantized once per activation type, before the loop;
     * every row is the kernel's row of that matrix, so the results equal {@code count} {@link #matVec} calls
     * bit for bit. Not reentrant: one call at a time (the decode step).
     */
    public void matVecs(Tensor[] w, float[][] x, float[][] y, int count) {
        ManyTask t = manyTask;
        t.ensure(count);
        for (int i = 0; i < count; i++) {
            t.set(i, w[i], x[i], y[i]);
        }
        t.run(count, false, pool);
    }

    /**
     * {@code g[i] = silu(gate[i] · x[i]) ⊙ (up[i] · x[i])} for {@code i < count} ({@code u[i]}: scratch for
     * the up products), as one parallel loop over the rows of all pairs: each chunk of rows takes both
     * matrices' rows and applies SwiGLU to them (the chosen experts' gate and up of a decode step). The
     * results equal the mat-vecs followed by {@code VectorMath.swiglu}, bit for bit. Not reentrant.
     */
    public void swigluMatVecs(Tensor[] gate, Tensor[] up, float[][] x, float[][] g, float[][] u, int count) {
        ManyTask t = manyTask;
        t.ensure(2 * count);
        for (int i = 0; i < count; i++) {
            if (gate[i].rowCount() != up[i].rowCount()) {
                throw new IllegalArgumentException(gate[i] + " and " + up[i] + ": gate and up differ in rows");
            }
            t.set(2 * i, gate[i], x[i], g[i]);
            t.set(2 * i + 1, up[i], x[i], u[i]);
        }
        t.run(count, true, pool);
    }

    /**
     * The rows of several mat-vecs as one range: unit i holds rows [first[i], first[i + 1]) of matrix i, or,
     * for SwiGLU pairs, of matrices 2i (gate) and 2i + 1 (up). Parameters are set per call (no allocation).
     */
    private final class ManyTask implements WorkerPool.RangeTask {
        private Tensor[] w = new Tensor[0];
        private float[][] x = new float[0][], y = new float[0][];
        private int[] n = new int[0], first = new int[1];
        private QuantizedDotKernel[] qk = new QuantizedDotKernel[0];
        private DotKernel[] k = new DotKernel[0];
        private MemorySegment[] xq = new MemorySegment[0];
        private MemorySegment[] buffers = new MemorySegment[0];   // the quantized inputs (grown, kept)
        private int units;
        private boolean pairs;

        void ensure(int count) {
            if (w.length < count) {
                w = new Tensor[count];
                x = new float[count][];
                y = new float[count][];
                n = new int[count];
                first = new int[count + 1];
                qk = new QuantizedDotKernel[count];
                k = new DotKernel[count];
                xq = new MemorySegment[count];
                buffers = java.util.Arrays.copyOf(buffers, count);
            }
        }

        /** Matrix i of the call: its kernel, and its input quantized (once per input and activation type). */
        void set(int i, Tensor m, float[] in, float[] out) {
            if (m.rank() > 2 && m.dim(2) != 1) {
                throw new IllegalArgumentException(m + ": mat-vec needs a 2-D matrix");
            }
            int len = Math.toIntExact(m.rowLength());
            QuantizedDotKernel q = route(m.type());
            w[i] = m;
            x[i] = in;
            y[i] = out;
            n[i] = len;
            qk[i] = q;
            k[i] = q == null ? Kernels.simd(m) : null;
            xq[i] = null;
            if (q == null) {
                return;
            }
            for (int j = 0; j < i; j++) {
                if (x[j] == in && qk[j] != null && qk[j].activationType() == q.activationType() && n[j] == len) {
                    xq[i] = xq[j];
                    return;
                }
            }
            GgmlType at = q.activationType();
            long bytes = at.bytesFor(len);
            if (buffers[i] == null || buffers[i].byteSize() < bytes) {
                buffers[i] = Arena.ofAuto().allocate(Math.max(bytes, 16 * 1024), 64);
            }
            Kernels.quantizer(at).quantize(in, 0, buffers[i], 0, len);
            xq[i] = buffers[i];
        }

        /** Runs the {@code units} set (pairs: 2 · units matrices), over the pool when they are large enough. */
        void run(int units, boolean pairs, WorkerPool pool) {
            this.units = units;
            this.pairs = pairs;
            int rows = 0;
            long bytes = 0;
            for (int i = 0; i < units; i++) {
                Tensor m = w[pairs ? 2 * i : i];
                first[i] = rows;
                rows = Math.addExact(rows, Math.toIntExact(m.rowCount()));
                bytes += m.rowCount() * m.rowBytes() * (pairs ? 2 : 1);
            }
            first[units] = rows;
            try {
                if (bytes < PARALLEL_BYTES || pool.threads() == 1 || pool.insideLoop()) {
                    run(0, rows);
                } else {
                    pool.parallelFor(rows, 16, this);
                }
            } finally {
                java.util.Arrays.fill(w, null);
                java.util.Arrays.fill(x, null);
                java.util.Arrays.fill(y, null);
                java.util.Arrays.fill(qk, null);
                java.util.Arrays.fill(k, null);
                java.util.Arrays.fill(xq, null);
                this.units = 0;
            }
        }

        @Override
        public void run(int from, int to) {
            int i = 0;
            while (i < units && first[i + 1] <= from) {
                i++;
            }
            for (; i < units && first[i] < to; i++) {
                int r0 = Math.max(from, first[i]) - first[i], r1 = Math.min(to, first[i + 1]) - first[i];
                if (!pairs) {
                    rows(i, r0, r1);
                    continue;
                }
                rows(2 * i, r0, r1);
                rows(2 * i + 1, r0, r1);
                io.trillium.quant.VectorMath.swiglu(y[2 * i], r0, y[2 * i + 1], r0, r1 - r0);
            }
        }

        private void rows(int i, int r0, int r1) {
            MemorySegment d = w[i].data();
            long rb = w[i].rowBytes();
            if (qk[i] != null) {
                qk[i].matVec(d, 0, rb, xq[i], n[i], y[i], r0, r1);
            } else {
                k[i].matVec(d, 0, rb, x[i], n[i], y[i], r0, r1);
            }
        }
    }

    /**
     * {@code ya = a·x} and {@code yb = b·x} on the calling thread (an expert's gate and up): the input is
     * quantized once for both when they take the same integer route. Results equal two
     * {@link #matVecHere} calls. Safe to call from several threads at once.
     */
    public void matVecHere(Tensor a, Tensor b, float[] x, float[] ya, float[] yb) {
        QuantizedDotKernel qa = route(a.type());
        QuantizedDotKernel qb = route(b.type());
        if (qa == null || qb == null || qa.activationType() != qb.activationType() || a.rowLength() != b.rowLength()) {
            matVecHere(a, x, ya);
            matVecHere(b, x, yb);
            return;
        }
        int n = Math.toIntExact(a.rowLength());
        MemorySegment q = quantize(qa, x, 0, n);
        qa.matVec(a.data(), 0, a.rowBytes(), q, n, ya, 0, Math.toIntExact(a.rowCount()));
        qb.matVec(b.data(), 0, b.rowBytes(), q, n, yb, 0, Math.toIntExact(b.rowCount()));
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
