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
    private int liveVectors;
    private long available = 1L << 30;
    private long matrixBytes;
    private long matrixBytesAtSet;
    public int matVecs;
    public int matMuls;
    public int staged;

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
        return refuse.test(w) ? null : super.stage(w, slot);
    }

    @Override
    public void matVec(Mat w, int rows, int heads, long headBytes, Vec x, int xOff, int xStride, Vec y, int yOff,
                       int yStride) {
        super.matVec(w, rows, heads, headBytes, x, xOff, xStride, y, yOff, yStride);
        matVecs += heads;
    }

    @Override
    public void matMul(Mat w, Vec x, int xOff, int xStride, Vec y, int yOff, int yStride, int tokens) {
        for (int t = 0; t < tokens; t++) {
            host.matVec(w.tensor(), a(x), xOff + t * xStride, a(y), yOff + t * yStride);
        }
        matMuls++;
    }

    /** A CPU backend whose {@link ComputeBackend#device()} is a {@link HostDevice}. */
    public static final class Backend implements ComputeBackend {
        public final CpuBackend cpu;
        public final HostDevice device;

        public Backend(int threads, Predicate<Tensor> refuse) {
            this.cpu = new CpuBackend(threads, Numerics.EXACT);
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
