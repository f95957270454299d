package io.trillium.backend;

import io.trillium.quant.Numerics;
import io.trillium.quant.Tensor;

import java.util.HashSet;
import java.util.Set;
import java.util.function.Predicate;

/**
 * {@link CpuDevice} with what the tests of the device paths need: matrices it "has no room for"
 * ({@code refuse}), a settable amount of free memory that uploads use up (as VRAM would), live
 * vector/matrix counts (leaks) and counters of what ran. Its batched product is the plain per-token
 * mat-vec loop, a reference for {@link CpuBackend#matMul}.
 */
public final class HostDevice extends CpuDevice {
    private final ComputeBackend host;
    private final Predicate<Tensor> refuse;
    private final Set<Long> matrices = new HashSet<>();
    private final Set<Long> stagedHandles = new HashSet<>();
    private int liveVectors;
    private long available = 1L << 30;
    private long matrixBytes;
    private long matrixBytesAtSet;
    public int matVecs;
    public int matMuls;
    public int staged;
    /** Matrices {@link #matrix} refused ("no room"). */
    public int refused;

    /** Computes on {@code host}; {@code refuse} marks matrices "with no room" (null from {@link #matrix}). */
    public HostDevice(CpuBackend host, Predicate<Tensor> refuse) {
        super(host);
        this.host = host;
        this.refuse = refuse;
    }

    public int liveVectors() {
        return liveVectors;
    }

    public int liveMatrices() {
        return matrices.size();
    }

    /** From now on {@link #available()} is {@code bytes} less the matrices given out after this call. */
    public void setAvailable(long bytes) {
        available = bytes;
        matrixBytesAtSet = matrixBytes;
    }

    @Override
    public String name() {
        return "host reference device";
    }

    @Override
    public Vec vector(String tag, int floats) {
        if (4L * floats > available()) {
            throw new IllegalStateException("no room for " + floats + " floats (" + tag + ")");
        }
        liveVectors++;
        return super.vector(tag, floats);
    }

    @Override
    public void release(Vec v) {
        super.release(v);
        if (v != null) {
            liveVectors--;
        }
    }

    @Override
    public Mat matrix(Tensor w) {
        if (refuse.test(w)) {
            refused++;
            return null;
        }
        Mat m = super.matrix(w);
        matrices.add(m.handle());
        matrixBytes += w.data().byteSize();
        return m;
    }

    @Override
    public void release(Mat m) {
        if (m != null) {
            if (!matrices.remove(m.handle())) {
                throw new IllegalStateException("matrix " + m.tensor().name() + " is not on this device");
            }
            matrixBytes -= m.tensor().data().byteSize();
        }
    }

    @Override
    public long available() {
        return Math.max(0, available - (matrixBytes - matrixBytesAtSet));
    }

    @Override
    public Mat stage(Tensor w, int slot) {
        staged++;
        if (refuse.test(w)) {
            return null;
        }
        Mat m = super.stage(w, slot);
        stagedHandles.add(m.handle());
        return m;
    }

    /** A product may only name a matrix this device gave out (as a GPU's would have to): not a host one. */
    private void given(Mat w) {
        if (!matrices.contains(w.handle()) && !stagedHandles.contains(w.handle())) {
            throw new IllegalStateException("matrix " + w.tensor().name() + " (handle " + w.handle()
                    + ") is not on this device");
        }
    }

    @Override
    public void mlaHeads(Mat kB, long kBHeadBytes, Mat vB, long vBHeadBytes, MlaHeads.Shape shape, Vec q, Vec cache,
                         int p0, int tokens, Vec o, Vec qAbs, Vec att, int attStride, Vec oLat) {
        given(kB);
        given(vB);
        super.mlaHeads(kB, kBHeadBytes, vB, vBHeadBytes, shape, q, cache, p0, tokens, o, qAbs, att, attStride, oLat);
    }

    @Override
    public void matVec(Mat w, int rows, int heads, long headBytes, Vec x, int xOff, int xStride, Vec y, int yOff,
                       int yStride) {
        given(w);
        super.matVec(w, rows, heads, headBytes, x, xOff, xStride, y, yOff, yStride);
        matVecs += heads;
    }

    @Override
    public void matMul(Mat w, Vec x, int xOff, int xStride, Vec y, int yOff, int yStride, int tokens) {
        given(w);
        for (int t = 0; t < tokens; t++) {
            host.matVec(w.tensor(), a(x), xOff + t * xStride, a(y), yOff + t * yStride);
        }
        matMuls++;
    }

    /** A CPU backend whose {@link ComputeBackend#device()} is a {@link HostDevice}. */
    public static final class Backend implements ComputeBackend {
        public final CpuBackend cpu;
        public final HostDevice device;

        private final boolean hostBeside;

        /** A device beside a host CPU backend ({@link #hostBackend}), as the GPU backend has. */
        public Backend(int threads, Predicate<Tensor> refuse) {
            this(threads, refuse, true);
        }

        /** {@code hostBeside} false: no CPU backend to fall back on per matrix (this backend is its own host). */
        public Backend(int threads, Predicate<Tensor> refuse, boolean hostBeside) {
            this.cpu = new CpuBackend(threads, Numerics.EXACT);
            this.device = new HostDevice(cpu, refuse);
            this.hostBeside = hostBeside;
        }

        @Override
        public ComputeBackend hostBackend() {
            return hostBeside ? cpu : this;
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
