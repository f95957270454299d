package io.trillium.backend;

import io.trillium.quant.Tensor;

import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The CPU as a {@link Device}: vectors are Java arrays, matrices the tensors themselves (nothing is
 * copied), products the {@link CpuBackend}'s kernels. What it is for: a prompt goes through the same
 * batched, layer-by-layer prefill as on a GPU, so each weight matrix — and each chosen expert, from
 * whatever tier holds it — is read once per batch instead of once per token.
 */
public class CpuDevice implements Device {   // not final: the tests' reference device adds hooks
    /** Below this many multiply-adds the heads' attention runs on the calling thread. */
    private static final long PARALLEL_ATTENTION = 1 << 16;

    private final CpuBackend cpu;
    // the live vectors' handles, for release (shared by every state of a model: a session may close, and
    // release, while another one computes); operations find their arrays in the vectors themselves
    private final Set<Long> live = ConcurrentHashMap.newKeySet();
    private final AtomicLong next = new AtomicLong(1);
    // per matrix of per-head products (MLA's k_b, v_b): the heads' views, made once
    private final Map<Tensor, Tensor[]> headViews = Collections.synchronizedMap(new IdentityHashMap<>());
    // reused by every call: a device computes for one thread at a time (Device's contract; a model's forward
    // passes take turns, ForwardGuard), so one instance of each serves all of them
    private MlaHeads mla;   // the per-head attention of the last shape asked for (a model has one)
    private final AttendHeads attendHeads = new AttendHeads();

    public CpuDevice(CpuBackend cpu) {
        this.cpu = cpu;
    }

    @Override
    public String name() {
        return "CPU (" + cpu.threads() + " threads)";
    }

    /** The array behind {@code v} (a vector of this kind of device: its array travels with it). */
    protected static float[] a(Vec v) {
        float[] r = v.host();
        if (r == null || r.length < v.floats()) {
            throw new IllegalStateException("vector " + v.handle() + " (" + v.floats() + " floats) is not a CPU device vector");
        }
        return r;
    }

    /** {@code array} itself as a device vector (no copy); {@link #release} forgets it. */
    public Vec wrap(float[] array) {
        long h = next.getAndIncrement();
        live.add(h);
        return new Vec(h, array.length, array);
    }

    @Override
    public Vec vector(String tag, int floats) {
        return wrap(new float[floats]);
    }

    @Override
    public void release(Vec v) {
        if (v != null && !live.remove(v.handle())) {
            throw new IllegalStateException("vector " + v.handle() + " released twice");
        }
    }

    @Override
    public Mat matrix(Tensor w) {
        return new Mat(next.getAndIncrement(), w);
    }

    @Override
    public void release(Mat m) {
    }

    /** Nothing is worth moving here: the CPU reads the weights where they are. */
    @Override
    public long available() {
        return 0;
    }

    @Override
    public Mat stage(Tensor w, int slot) {
        return new Mat(-1 - slot, w);
    }

    @Override
    public void upload(float[] src, int srcOff, Vec dst, int dstOff, int n) {
        System.arraycopy(src, srcOff, a(dst), dstOff, n);
    }

    @Override
    public void download(Vec src, int srcOff, float[] dst, int dstOff, int n) {
        System.arraycopy(a(src), srcOff, dst, dstOff, n);
    }

    @Override
    public void matVec(Mat w, int rows, int heads, long headBytes, Vec x, int xOff, int xStride, Vec y, int yOff,
                       int yStride) {
        Tensor[] views = heads == 1 ? null : heads(w.tensor(), rows, heads, headBytes);
        if (views == null) {
            cpu.matVec(headView(w.tensor(), rows, 0, 1, headBytes), a(x), xOff, a(y), yOff);
            return;
        }
        WorkerPool pool = cpu.pool();
        float[] xs = a(x);
        float[] ys = a(y);
        if (pool.threads() > 1 && !pool.insideLoop()) {
            // many small products (MLA's per-head k_b / v_b): heads over the pool, each product on its worker
            pool.parallelFor(heads, 1, (from, to) -> matVecHeads(views, from, to, xs, xOff, xStride, ys, yOff, yStride));
        } else {
            matVecHeads(views, 0, heads, xs, xOff, xStride, ys, yOff, yStride);
        }
    }

    /** Heads {@code [from, to)}, one mat-vec each on this thread. */
    private void matVecHeads(Tensor[] views, int from, int to, float[] x, int xOff, int xStride, float[] y, int yOff,
                             int yStride) {
        for (int h = from; h < to; h++) {
            cpu.matVec(views[h], x, xOff + h * xStride, y, yOff + h * yStride);
        }
    }

    /** The {@code heads} views of {@code t} ({@link #headView}), made on the first call for {@code t}. */
    private Tensor[] heads(Tensor t, int rows, int heads, long headBytes) {
        Tensor[] views = headViews.get(t);
        if (views == null || views.length != heads || views[0].rowCount() != rows) {
            views = new Tensor[heads];
            for (int h = 0; h < heads; h++) {
                views[h] = headView(t, rows, h, heads, headBytes);
            }
            headViews.put(t, views);
        }
        return views;
    }

    /** Head {@code h}'s {@code rows} rows of {@code t}, starting {@code h · headBytes} bytes in. */
    private static Tensor headView(Tensor t, int rows, int h, int heads, long headBytes) {
        if (heads == 1 && headBytes == 0 && rows == t.rowCount()) {
            return t;
        }
        if (h * headBytes % t.rowBytes() == 0 && t.rank() <= 2) {
            long first = h * headBytes / t.rowBytes();   // a row range: keeps the tensor's scales
            return t.rows(first, first + rows);
        }
        return new Tensor(t.name(), t.type(), new long[] {t.rowLength(), rows},
                t.data().asSlice(h * headBytes, rows * t.rowBytes()));
    }

    /** Per thread: a prefill's qAbs and oLat scratch for {@link MlaHeads#TOKEN_TILE} tokens (grown, kept). */
    private final ThreadLocal<float[][]> mlaScratch = ThreadLocal.withInitial(() -> new float[2][0]);

    /**
     * All heads and tokens in one loop over heads ({@link MlaHeads}): each head's k_b and v_b products
     * batched over the tokens, a tile at a time, on the worker that attends with them.
     */
    @Override
    public void mlaHeads(Mat kB, long kBHeadBytes, Mat vB, long vBHeadBytes, MlaHeads.Shape shape, Vec q,
                         Vec cache, int p0, int tokens, Vec o, Vec qAbs, Vec att, int attStride, Vec oLat) {
        int heads = shape.heads();
        Tensor[] k = heads(kB.tensor(), shape.kvLora(), heads, kBHeadBytes);
        Tensor[] v = heads(vB.tensor(), shape.vDim(), heads, vBHeadBytes);
        MlaHeads mla = this.mla;
        if (mla == null || !mla.shape().equals(shape)) {
            this.mla = mla = new MlaHeads(cpu, shape);
        }
        int tile = Math.min(tokens, MlaHeads.TOKEN_TILE);
        float[] qa = a(qAbs);
        float[] ol = a(oLat);
        if (tile > 1) {
            float[][] scratch = mlaScratch.get();
            if (scratch[0].length < mla.qAbsFloats(tile)) {
                scratch[0] = new float[mla.qAbsFloats(MlaHeads.TOKEN_TILE)];
                scratch[1] = new float[mla.oLatFloats(MlaHeads.TOKEN_TILE)];
            }
            qa = scratch[0];
            ol = scratch[1];
        }
        mla.attend(k, v, a(q), a(cache), 0, p0, tokens, a(o), qa, a(att), attStride, ol, tile);
    }

    @Override
    public void matMul(Mat w, Vec x, int xOff, int xStride, Vec y, int yOff, int yStride, int tokens) {
        cpu.matMul(w.tensor(), a(x), xOff, xStride, a(y), yOff, yStride, tokens);
    }

    @Override
    public void rmsnorm(Vec out, int outOff, Vec x, int xOff, Vec w, int n, float eps) {
        Ops.rmsnorm(a(out), outOff, a(x), xOff, a(w), n, eps);
    }

    @Override
    public void rmsnorm(Vec out, Vec x, Vec w, int n, int count, int stride, float eps) {
        float[] o = a(out);
        float[] in = a(x);
        float[] wt = a(w);
        for (int k = 0; k < count; k++) {
            Ops.rmsnorm(o, k * stride, in, k * stride, wt, n, eps);
        }
    }

    @Override
    public void rope(Vec x, int count, int stride, int offset, Vec cs, int csOff, int dims, boolean neox) {
        float[] v = a(x);
        float[] c = a(cs);
        int half = dims / 2;
        for (int k = 0; k < count; k++) {   // cs holds the cosines, then the sines
            Ops.rotate(v, k * stride + offset, c, csOff, c, csOff + half, half, neox);
        }
    }

    @Override
    public void copy(Vec src, int srcOff, int srcStride, Vec dst, int dstOff, int dstStride, int n, int count) {
        float[] s = a(src);
        float[] d = a(dst);
        for (int k = 0; k < count; k++) {
            System.arraycopy(s, srcOff + k * srcStride, d, dstOff + k * dstStride, n);
        }
    }

    @Override
    public void mlaAttend(Vec qAbs, Vec cache, int cacheOff, Vec att, Vec oLat, int heads, int kvLora, int rope,
                          int npos, int attStride, float scale) {
        AttendHeads task = attendHeads;
        task.set(a(qAbs), a(cache), cacheOff, a(att), a(oLat), kvLora, rope, npos, attStride, scale);
        try {
            WorkerPool pool = cpu.pool();
            if (pool.threads() > 1 && !pool.insideLoop() && (long) heads * npos * (kvLora + rope) >= PARALLEL_ATTENTION) {
                // parallelFor makes at most 4 ranges per thread: each range of heads reads the shared cache once
                pool.parallelFor(heads, 1, task);
            } else {
                task.run(0, heads);
            }
        } finally {
            task.clear();
        }
    }

    /**
     * One {@link #mlaAttend} call's operands as a reusable task (no capturing lambda per call). Set and run by
     * the thread of the forward pass (one at a time per model); the pool's workers read the fields after
     * parallelFor has published them, and nothing writes them until the loop has returned.
     */
    private static final class AttendHeads implements WorkerPool.RangeTask {
        private float[] q;
        private float[] cache;
        private int cacheOff;
        private float[] att;
        private float[] oLat;
        private int kvLora;
        private int width;
        private int npos;
        private int attStride;
        private float scale;

        void set(float[] q, float[] cache, int cacheOff, float[] att, float[] oLat, int kvLora, int rope, int npos,
                 int attStride, float scale) {
            this.q = q;
            this.cache = cache;
            this.cacheOff = cacheOff;
            this.att = att;
            this.oLat = oLat;
            this.kvLora = kvLora;
            this.width = kvLora + rope;
            this.npos = npos;
            this.attStride = attStride;
            this.scale = scale;
        }

        void clear() {
            q = cache = att = oLat = null;
        }

        @Override
        public void run(int from, int to) {
            Ops.mlaAttendHeads(q, 0, from, to, cache, cacheOff, npos, width, kvLora, scale, att, attStride, oLat, 0);
        }
    }

    @Override
    public void swiglu(Vec gate, Vec up, int n) {
        Ops.swiglu(a(gate), a(up), n);
    }

    @Override
    public void axpy(Vec y, float a, Vec x, int n) {
        Ops.axpy(a(y), a, a(x), n);
    }
}
