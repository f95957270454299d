package io.trillium.backend;

import io.trillium.model.Ops;
import io.trillium.quant.Tensor;

import java.util.HashMap;
import java.util.Map;
import java.util.function.Predicate;

/**
 * The reference {@link Device}: plain Java arrays and the host's formulas ({@code Ops}, {@code Rope}'s
 * rotation, the model's attention loop, the CPU backend's mat-vec), operations run at once. A model's
 * device step run on it must give the host step's logits; a GPU device's kernels must give its outputs.
 */
public final class HostDevice implements Device {
    private final ComputeBackend host;
    private final Predicate<Tensor> refuse;
    private final Map<Long, float[]> vectors = new HashMap<>();
    private final Map<Long, Mat> matrices = new HashMap<>();
    private long available = 1L << 30;
    private long matrixBytes;
    private long matrixBytesAtSet;
    private long next = 1;
    public int matVecs;
    public int matMuls;
    public int staged;

    /** Computes mat-vecs on {@code host}; {@code refuse} marks matrices "with no room" (null from {@link #matrix}). */
    public HostDevice(ComputeBackend host, Predicate<Tensor> refuse) {
        this.host = host;
        this.refuse = refuse;
    }

    public int liveVectors() {
        return vectors.size();
    }

    @Override
    public String name() {
        return "host reference device";
    }

    private float[] a(Vec v) {
        float[] r = vectors.get(v.handle());
        if (r == null || r.length != v.floats()) {
            throw new IllegalStateException("vector " + v + " is not live on this device");
        }
        return r;
    }

    @Override
    public Vec vector(String tag, int floats) {
        if (4L * floats > available()) {
            throw new IllegalStateException("no room for " + floats + " floats (" + tag + ")");
        }
        long h = next++;
        vectors.put(h, new float[floats]);
        return new Vec(h, floats);
    }

    @Override
    public void release(Vec v) {
        if (v != null && vectors.remove(v.handle()) == null) {
            throw new IllegalStateException("vector " + v + " released twice");
        }
    }

    @Override
    public Mat matrix(Tensor w) {
        if (refuse.test(w)) {
            return null;
        }
        Mat m = new Mat(next++, w);
        matrices.put(m.handle(), m);
        matrixBytes += w.data().byteSize();
        return m;
    }

    public int liveMatrices() {
        return matrices.size();
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
        Tensor t = w.tensor();
        for (int h = 0; h < heads; h++) {
            Tensor view = new Tensor(t.name(), t.type(), new long[] {t.rowLength(), rows},
                    t.data().asSlice(h * headBytes, rows * t.rowBytes()));
            host.matVec(view, a(x), xOff + h * xStride, a(y), yOff + h * yStride);
            matVecs++;
        }
    }

    @Override
    public void rmsnorm(Vec out, int outOff, Vec x, int xOff, Vec w, int n, float eps) {
        Ops.rmsnorm(a(out), outOff, a(x), xOff, a(w), n, eps);
    }

    @Override
    public void rmsnorm(Vec out, Vec x, Vec w, int n, int count, int stride, float eps) {
        for (int k = 0; k < count; k++) {
            Ops.rmsnorm(a(out), k * stride, a(x), k * stride, a(w), n, eps);
        }
    }

    @Override
    public void matMul(Mat w, Vec x, int xOff, int xStride, Vec y, int yOff, int yStride, int tokens) {
        for (int t = 0; t < tokens; t++) {
            host.matVec(w.tensor(), a(x), xOff + t * xStride, a(y), yOff + t * yStride);
        }
        matMuls++;
    }

    @Override
    public Mat stage(Tensor w, int slot) {
        staged++;
        return refuse.test(w) ? null : new Mat(-1 - slot, w);
    }

    @Override
    public void rope(Vec x, int count, int stride, int offset, Vec cs, int csOff, int dims, boolean neox) {
        float[] v = a(x);
        float[] c = a(cs);
        int half = dims / 2;
        for (int k = 0; k < count; k++) {
            int off = k * stride + offset;
            for (int i = 0; i < half; i++) {
                int p = neox ? i : 2 * i;
                int q = neox ? i + half : 2 * i + 1;
                float x0 = v[off + p];
                float x1 = v[off + q];
                v[off + p] = x0 * c[csOff + i] - x1 * c[csOff + half + i];
                v[off + q] = x0 * c[csOff + half + i] + x1 * c[csOff + i];
            }
        }
    }

    @Override
    public void copy(Vec src, int srcOff, int srcStride, Vec dst, int dstOff, int dstStride, int n, int count) {
        for (int k = 0; k < count; k++) {
            System.arraycopy(a(src), srcOff + k * srcStride, a(dst), dstOff + k * dstStride, n);
        }
    }

    @Override
    public void mlaAttend(Vec qAbs, Vec cache, int cacheOff, Vec att, Vec oLat, int heads, int kvLora, int rope,
                          int npos, int attStride, float scale) {
        float[] q = a(qAbs);
        float[] c = a(cache);
        float[] at = a(att);
        float[] o = a(oLat);
        int width = kvLora + rope;
        for (int h = 0; h < heads; h++) {
            int ao = h * attStride;
            for (int t = 0; t < npos; t++) {
                at[ao + t] = Ops.dot(q, h * width, c, cacheOff + t * width, width) * scale;
            }
            Ops.softmax(at, ao, npos);
            java.util.Arrays.fill(o, h * kvLora, (h + 1) * kvLora, 0f);
            for (int t = 0; t < npos; t++) {
                float p = at[ao + t];
                for (int i = 0; i < kvLora; i++) {
                    o[h * kvLora + i] += p * c[cacheOff + t * width + i];
                }
            }
        }
    }

    @Override
    public void swiglu(Vec gate, Vec up, int n) {
        Ops.swiglu(a(gate), a(up), n);
    }

    @Override
    public void add(Vec y, Vec x, int n) {
        Ops.add(a(y), a(x), n);
    }

    @Override
    public void axpy(Vec y, float a, Vec x, int n) {
        Ops.axpy(a(y), a, a(x), n);
    }

    @Override
    public void release(Mat m) {
        if (m != null && matrices.remove(m.handle()) == null) {
            throw new IllegalStateException("matrix " + m.tensor().name() + " is not on this device");
        }
        if (m != null) {
            matrixBytes -= m.tensor().data().byteSize();
        }
    }

    @Override
    public long available() {
        return Math.max(0, available - (matrixBytes - matrixBytesAtSet));
    }

    /** From now on {@link #available()} is {@code bytes} less the matrices given out after this call. */
    public void setAvailable(long bytes) {
        available = bytes;
        matrixBytesAtSet = matrixBytes;
    }

    /** A CPU backend whose {@link ComputeBackend#device()} is a {@link HostDevice}. */
    public static final class Backend implements ComputeBackend {
        public final CpuBackend cpu;
        public final HostDevice device;

        public Backend(int threads, Predicate<Tensor> refuse) {
            this.cpu = new CpuBackend(threads);
            this.device = new HostDevice(cpu, refuse);
        }

        @Override
        public void matVec(Tensor w, float[] x, int xOff, float[] y, int yOff) {
            cpu.matVec(w, x, xOff, y, yOff);
        }

        @Override
        public Device device() {
            return device;
        }

        @Override
        public int threads() {
            return cpu.threads();
        }

        @Override
        public void close() {
            cpu.close();
        }
    }
}
