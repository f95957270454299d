package io.trillium.cuda;

import io.trillium.backend.ComputeBackend;
import io.trillium.backend.Device;
import io.trillium.quant.GgmlType;
import io.trillium.quant.Tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.HashMap;
import java.util.Map;

/**
 * The GPU backend for the always-active part. Weight matrices are uploaded to VRAM once (as long as
 * the budget allows; the file's quantized blocks, unchanged) and computed on the project's kernels (F32
 * on cuBLAS where it loads). Routed experts stay on the host backend ({@link #hostBackend()}), next to
 * the memory that holds them.
 *
 * <p>Two ways a model uses it. Through {@link #device()} (deepseek2): the model keeps its whole
 * always-active part and its latent KV cache in VRAM and queues a layer's work on one stream; per MoE
 * layer only the normalised hidden state and the router logits come to the host, which runs the chosen
 * experts while the GPU runs the shared expert, and sends their sum back. Through {@link #matVec} and
 * {@link #startSwiglu} (every model): one matrix at a time, the shared expert asynchronously while the
 * host runs the routed experts; {@link #stats()} reports how much of the GPU's FFN time the host never
 * waited for.
 *
 * <p>Weights are keyed by the address of their data: the model owns the mapping and this backend, and
 * closes the backend before unmapping. One thread at a time (the methods are synchronized).
 *
 * <p>This class owns the device (its memory, stream and kernels) and the {@link Device} view; the
 * matrix-by-matrix path is {@code MatrixOffload}, the counters behind {@link #stats()} are {@code CudaStats}.
 */
public final class CudaBackend implements ComputeBackend {
    private static final System.Logger LOG = System.getLogger(CudaBackend.class.getName());

    /** What the backend did so far. */
    public record Stats(String device, Map<String, String> kernelsFrom, String matVecF32, long vramBudget,
                        long vramUsed, Map<String, Long> vramByTag, int residentTensors, int hostTensors,
                        long gpuMatVecs, long hostMatVecs, long asyncFfns, double overlap, long deviceSyncs,
                        double deviceSyncWaitMs, long stagedBytes) {
    }

    private final ComputeBackend host;
    private final Gpu gpu;
    private final CudaKernels kernels;
    private final DeviceMemory<Long> memory;
    private final long stream;
    private final CudaStats stats = new CudaStats();
    private final MatrixOffload offload;
    private final Map<Long, DeviceMemory.Block<Long>> vectors = new HashMap<>();
    private final Map<Integer, DeviceMemory.Block<Long>> stagingSlots = new HashMap<>();
    private DeviceMemory.Block<Long> dequantScratch;   // F32 rows of the matrix a prefill batch goes through
    private DeviceMemory.Block<Long> attentionScratch; // the split attention's partial results
    private final Staging staging = new Staging();
    private final OnDevice device = new OnDevice();
    private MemorySegment downloadBuf;
    private boolean closed;
    private boolean deviceStep = true;

    /** A backend on {@code gpu} (which it owns, as it owns {@code host}). */
    CudaBackend(Gpu gpu, GpuOptions options, ComputeBackend host) {
        this.host = host;
        this.gpu = gpu;
        try {
            this.kernels = new CudaKernels(gpu);
            long free = gpu.memInfo()[0];
            long budget = options.vramBudget() > 0 ? Math.min(options.vramBudget(), free) : free - free / 10;
            this.memory = new DeviceMemory<>(new DeviceAllocator<>() {
                @Override
                public Long allocate(long bytes) {
                    return gpu.alloc(bytes);
                }

                @Override
                public void free(Long address) {
                    gpu.free(address);
                }
            }, budget);
            this.stream = gpu.newStream();
            this.offload = new MatrixOffload(host, gpu, kernels, memory, stream, stats);
        } catch (RuntimeException | Error e) {
            gpu.close();
            throw e;
        }
        LOG.log(System.Logger.Level.INFO, "GPU backend on {0}: kernels from {1}, F32 mat-vec by {2}, VRAM budget {3} bytes",
                gpu.name(), gpu.kernelsFrom(), gpu.sgemvPath(), memory.budget());
    }

    /**
     * A backend on the device {@code options} names, over {@code host} (which it owns).
     *
     * @throws IllegalStateException with the probe's reason when there is no usable device, or when
     *                               {@code options} say off
     */
    public static CudaBackend create(GpuOptions options, ComputeBackend host) {
        if (options.mode() == GpuOptions.Mode.OFF) {
            throw new IllegalStateException("the GPU is switched off (--gpu off)");
        }
        CudaSupport.Probe p = CudaSupport.probe();
        if (!p.available()) {
            throw new IllegalStateException("no usable CUDA device: " + p.reason());
        }
        return new CudaBackend(new JCudaGpu(options.device()), options, host);
    }

    /**
     * The GPU backend when {@code options} allow one and a device is usable, else {@code host} itself;
     * {@code why} (may be null) receives the reason the GPU is not used.
     */
    public static ComputeBackend createOrHost(GpuOptions options, ComputeBackend host,
                                              java.util.function.Consumer<String> why) {
        String reason = options.mode() == GpuOptions.Mode.OFF ? "the GPU is switched off (--gpu off)"
                : CudaSupport.probe().available() ? null : "no usable CUDA device: " + CudaSupport.probe().reason();
        if (reason == null) {
            try {
                return create(options, host);
            } catch (RuntimeException e) {
                reason = "the GPU backend failed to start: " + e.getMessage();
            }
        }
        if (why != null) {
            why.accept(reason);
        }
        return host;
    }

    @Override
    public ComputeBackend hostBackend() {
        return host;
    }

    @Override
    public int threads() {
        return host.threads();
    }

    @Override
    public Device device() {
        return deviceStep ? device : null;
    }

    /**
     * This backend without {@link #device()}: models then offload matrix by matrix (the path of every
     * architecture without a device step), for comparing the two. Call before loading a model on it.
     */
    public CudaBackend withoutDeviceStep() {
        deviceStep = false;
        return this;
    }

    /** Cached tokens from which decode attention splits each head over several blocks. */
    static final int SPLIT_ATTENTION_FROM = 1024;

    /** F32 values of the dequantized chunk of rows a batched product goes through (64 MiB). */
    private static final int SCRATCH_FLOATS = 16 << 20;

    /** {@code tokens} products of the 2-D matrix {@code w} (device copy {@code dw}) through the dequantized scratch. */
    private void launchMatMul(Tensor w, long dw, long x, int xStride, long y, int yStride, int tokens) {
        int n = Math.toIntExact(w.rowLength());
        int rows = Math.toIntExact(w.rowCount());
        if (w.type() == GgmlType.F32) {
            kernels.gemm(dw, n, rows, x, xStride, y, yStride, tokens, stream);
            stats.gpuProducts(tokens);
            return;
        }
        int chunk = Math.max(1, Math.min(rows, SCRATCH_FLOATS / n));
        long bytes = (long) chunk * n * Float.BYTES;
        if (dequantScratch == null || dequantScratch.bytes() < bytes) {
            if (dequantScratch != null) {
                gpu.awaitStream(stream);
                memory.free(dequantScratch);
                dequantScratch = null;
            }
            if (!memory.fits(bytes)) {   // no room for the scratch: one mat-vec per token, in one launch
                kernels.matVec(w.type(), dw, w.rowBytes(), rows, tokens, 0, x, xStride, y, yStride, n, stream);
                stats.gpuProducts(tokens);
                return;
            }
            dequantScratch = memory.allocate("prefill scratch", bytes);
        }
        for (int r0 = 0; r0 < rows; r0 += chunk) {
            int cr = Math.min(chunk, rows - r0);
            kernels.dequantRows(w.type(), dw + r0 * w.rowBytes(), w.rowBytes(), dequantScratch.handle(), n, cr, stream);
            kernels.gemm(dequantScratch.handle(), n, cr, x, xStride, y + (long) r0 * Float.BYTES, yStride, tokens, stream);
        }
        stats.gpuProducts(tokens);
    }

    /** VRAM kept free for activations (the largest vectors of a model are a few MB). */
    static long reserve() {
        return 64L << 20;
    }

    @Override
    public synchronized void matVec(Tensor w, float[] x, int xOff, float[] y, int yOff) {
        ensureOpen();
        offload.matVec(w, x, xOff, y, yOff);
    }

    @Override
    public synchronized Pending startSwiglu(Tensor gate, Tensor up, Tensor down, float[] h, float[] g, float[] u,
                                            float[] out) {
        ensureOpen();
        Pending onGpu = offload.startSwiglu(gate, up, down, h, out);
        if (onGpu == null) {
            return ComputeBackend.super.startSwiglu(gate, up, down, h, g, u, out);
        }
        return () -> {
            synchronized (this) {   // the wait updates the offload's state and the counters
                onGpu.await();
            }
        };
    }

    /** What ran where, VRAM in use, and the overlap of the asynchronous FFN with the host's work. */
    public synchronized Stats stats() {
        return stats.snapshot(gpu, memory, offload.residentCount(), offload.onHostCount());
    }

    @Override
    public synchronized String report() {
        return CudaStats.report(stats());
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("the GPU backend is closed");
        }
    }

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            gpu.awaitStream(stream);
            offload.freeBuffers();
            staging.free();
            if (downloadBuf != null) {
                gpu.freePinned(downloadBuf);
            }
            memory.close();
            gpu.close();
        } finally {
            host.close();
        }
    }

    static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;

    /** A pinned buffer of at least {@code bytes} from {@code gpu}, replacing {@code old} (freed) when it is smaller. */
    static MemorySegment pinned(Gpu gpu, MemorySegment old, long bytes) {
        if (old != null && old.byteSize() >= bytes) {
            return old;
        }
        if (old != null) {
            gpu.freePinned(old);
        }
        return gpu.allocPinned(Math.max(bytes, 4096));
    }

    /**
     * Pinned staging for {@link Device#upload}: a ring of slots, each reused only after the copy that read
     * it has run (its event), so uploads never wait for the kernels queued before them.
     */
    private final class Staging {
        private final MemorySegment[] slots = new MemorySegment[4];
        private final long[] events = new long[slots.length];
        private int next;

        void upload(float[] src, int off, long dst, int n) {
            int i = next;
            next = (next + 1) % slots.length;
            if (events[i] == 0) {
                events[i] = gpu.newEvent();
            } else {
                gpu.awaitEvent(events[i]);
            }
            slots[i] = pinned(gpu, slots[i], (long) n * Float.BYTES);
            MemorySegment.copy(src, off, slots[i], F32, 0, n);
            gpu.copyToDevice(dst, slots[i], (long) n * Float.BYTES, stream);
            gpu.record(events[i], stream);
        }

        void free() {
            for (int i = 0; i < slots.length; i++) {
                if (slots[i] != null) {
                    if (events[i] != 0) {
                        gpu.awaitEvent(events[i]);
                    }
                    gpu.freePinned(slots[i]);
                    slots[i] = null;
                }
            }
        }
    }

    /** The {@link Device} view: vectors in VRAM under the budget, work queued on the backend's stream. */
    private final class OnDevice implements Device {
        @Override
        public String name() {
            return gpu.name();
        }

        /** The device address of {@code v[off ..]}, after checking that v is live and holds {@code n} floats there. */
        private long at(Vec v, int off, int n) {
            ensureOpen();
            DeviceMemory.Block<Long> b = vectors.get(v.handle());
            if (b == null || b.bytes() < (long) v.floats() * Float.BYTES) {
                throw new IllegalStateException("device vector " + v + " is not live (released, or from another device)");
            }
            if (off < 0 || n < 0 || (long) off + n > v.floats()) {
                throw new IndexOutOfBoundsException("floats " + off + ".." + (off + n) + " of a device vector of "
                        + v.floats());
            }
            return v.handle() + (long) off * Float.BYTES;
        }

        @Override
        public Vec vector(String tag, int floats) {
            synchronized (CudaBackend.this) {
                ensureOpen();
                DeviceMemory.Block<Long> b = memory.allocate(tag, Math.max(4L, (long) floats * Float.BYTES));
                gpu.zero(b.handle(), b.bytes(), stream);
                vectors.put(b.handle(), b);
                return new Vec(b.handle(), floats);
            }
        }

        @Override
        public void release(Vec v) {
            synchronized (CudaBackend.this) {
                if (v == null || closed) {
                    return;   // closing the backend freed everything
                }
                DeviceMemory.Block<Long> b = vectors.remove(v.handle());
                if (b == null) {
                    throw new IllegalStateException("device vector " + v + " is not live (released twice?)");
                }
                gpu.awaitStream(stream);   // no queued kernel may still use it
                memory.free(b);
            }
        }

        @Override
        public Mat matrix(Tensor w) {
            synchronized (CudaBackend.this) {
                ensureOpen();
                DeviceMemory.Block<Long> b = offload.resident(w, true);
                return b == null ? null : new Mat(b.handle(), w);
            }
        }

        @Override
        public void upload(float[] src, int srcOff, Vec dst, int dstOff, int n) {
            synchronized (CudaBackend.this) {
                ensureOpen();
                staging.upload(src, srcOff, at(dst, dstOff, n), n);
            }
        }

        @Override
        public void download(Vec src, int srcOff, float[] dst, int dstOff, int n) {
            synchronized (CudaBackend.this) {
                ensureOpen();
                downloadBuf = pinned(gpu, downloadBuf, (long) n * Float.BYTES);
                gpu.copyToHost(downloadBuf, at(src, srcOff, n), (long) n * Float.BYTES, stream);
                long t0 = System.nanoTime();
                gpu.awaitStream(stream);
                stats.deviceSync((System.nanoTime() - t0) / 1e6);
                MemorySegment.copy(downloadBuf, F32, 0, dst, dstOff, n);
            }
        }

        @Override
        public void matVec(Mat w, int rows, int heads, long headBytes, Vec x, int xOff, int xStride, Vec y, int yOff,
                           int yStride) {
            synchronized (CudaBackend.this) {
                ensureOpen();
                Tensor t = w.tensor();
                int n = Math.toIntExact(t.rowLength());
                if ((long) (heads - 1) * headBytes + rows * t.rowBytes() > t.data().byteSize()) {
                    throw new IndexOutOfBoundsException(heads + " heads of " + rows + " rows, " + headBytes
                            + " bytes apart, outside " + t.name());
                }
                offload.launchMatVec(t, w.handle(), rows, heads, headBytes, at(x, xOff, (heads - 1) * xStride + n),
                        xStride, at(y, yOff, (heads - 1) * yStride + rows), yStride);
            }
        }

        @Override
        public void matMul(Mat w, Vec x, int xOff, int xStride, Vec y, int yOff, int yStride, int tokens) {
            synchronized (CudaBackend.this) {
                ensureOpen();
                Tensor t = w.tensor();
                int n = Math.toIntExact(t.rowLength());
                int rows = Math.toIntExact(t.rowCount());
                launchMatMul(t, w.handle(), at(x, xOff, (tokens - 1) * xStride + n), xStride,
                        at(y, yOff, (tokens - 1) * yStride + rows), yStride, tokens);
            }
        }

        @Override
        public Mat stage(Tensor w, int slot) {
            synchronized (CudaBackend.this) {
                ensureOpen();
                MemorySegment data = w.data();
                if (!data.isNative() || !CudaKernels.hasMatVec(w.type())) {
                    return null;
                }
                DeviceMemory.Block<Long> b = stagingSlots.get(slot);
                if (b == null || b.bytes() < data.byteSize()) {
                    if (b != null) {
                        gpu.awaitStream(stream);   // queued kernels may still read the old contents
                        memory.free(b);
                        stagingSlots.remove(slot);
                    }
                    if (!memory.fits(data.byteSize() + reserve())) {
                        return null;
                    }
                    b = memory.allocate("streamed experts", data.byteSize());
                    stagingSlots.put(slot, b);
                }
                // queued after the kernels that read the slot's previous contents; a pageable source is
                // copied out before this returns, so the caller may release it
                gpu.copyToDevice(b.handle(), data, data.byteSize(), stream);
                stats.staged(data.byteSize());
                return new Mat(b.handle(), w);
            }
        }

        @Override
        public void rmsnorm(Vec out, Vec x, Vec w, int n, int count, int stride, float eps) {
            synchronized (CudaBackend.this) {
                kernels.rmsnorm(at(out, 0, (count - 1) * stride + n), at(x, 0, (count - 1) * stride + n), at(w, 0, n),
                        n, count, stride, eps, stream);
            }
        }

        @Override
        public void rmsnorm(Vec out, int outOff, Vec x, int xOff, Vec w, int n, float eps) {
            synchronized (CudaBackend.this) {
                kernels.rmsnorm(at(out, outOff, n), at(x, xOff, n), at(w, 0, n), n, 1, n, eps, stream);
            }
        }

        @Override
        public void rope(Vec x, int count, int stride, int offset, Vec cs, int csOff, int dims, boolean neox) {
            synchronized (CudaBackend.this) {
                at(x, offset, (count - 1) * stride + dims);
                kernels.rope(x.handle(), count, stride, offset, at(cs, csOff, dims), dims, neox, stream);
            }
        }

        @Override
        public void copy(Vec src, int srcOff, int srcStride, Vec dst, int dstOff, int dstStride, int n, int count) {
            synchronized (CudaBackend.this) {
                kernels.copy(at(dst, dstOff, (count - 1) * dstStride + n), dstStride,
                        at(src, srcOff, (count - 1) * srcStride + n), srcStride, n, count, stream);
            }
        }

        @Override
        public void mlaAttend(Vec qAbs, Vec cache, int cacheOff, Vec att, Vec oLat, int heads, int kvLora, int rope,
                              int npos, int attStride, float scale) {
            synchronized (CudaBackend.this) {
                int width = kvLora + rope;
                long q = at(qAbs, 0, heads * width);
                long c = at(cache, cacheOff, npos * width);
                long o = at(oLat, 0, heads * kvLora);
                if (npos > SPLIT_ATTENTION_FROM) {   // long context: chunks over all SMs, then combined
                    int splits = CudaKernels.attentionSplits(npos);
                    long parts = (long) heads * splits;
                    long bytes = parts * (kvLora + 2) * Float.BYTES;
                    if (attentionScratch == null || attentionScratch.bytes() < bytes) {
                        if (attentionScratch != null) {
                            gpu.awaitStream(stream);
                            memory.free(attentionScratch);
                        }
                        attentionScratch = memory.allocate("attention scratch", bytes);
                    }
                    long pm = attentionScratch.handle();
                    long pl = pm + parts * Float.BYTES;
                    kernels.mlaAttendSplit(q, c, pm, pl, pl + parts * Float.BYTES, o, heads, kvLora, rope, npos, splits,
                            scale, stream);
                    return;
                }
                kernels.mlaAttend(q, c, at(att, 0, (heads - 1) * attStride + npos), o, heads, kvLora, rope, npos,
                        attStride, scale, stream);
            }
        }

        @Override
        public void swiglu(Vec gate, Vec up, int n) {
            synchronized (CudaBackend.this) {
                kernels.swiglu(at(gate, 0, n), at(up, 0, n), n, stream);
            }
        }

        @Override
        public void axpy(Vec y, float a, Vec x, int n) {
            synchronized (CudaBackend.this) {
                kernels.axpy(at(y, 0, n), a, at(x, 0, n), n, stream);
            }
        }

        @Override
        public void release(Mat m) {
            synchronized (CudaBackend.this) {
                if (m == null || closed) {
                    return;
                }
                offload.release(m.tensor());
            }
        }

        @Override
        public long available() {
            synchronized (CudaBackend.this) {
                return Math.max(0, memory.budget() - memory.used() - reserve());
            }
        }
    }
}
