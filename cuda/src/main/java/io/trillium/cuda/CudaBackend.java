package io.trillium.cuda;

import io.trillium.backend.ComputeBackend;
import io.trillium.quant.GgmlType;
import io.trillium.quant.Tensor;
import jcuda.Pointer;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUevent;
import jcuda.driver.CUstream;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

import static io.trillium.cuda.CudaContext.check;
import static jcuda.driver.JCudaDriver.*;

/**
 * The GPU backend for the always-active part. Weight matrices are uploaded to VRAM on first use (as
 * long as the budget allows; the file's quantized blocks, unchanged) and their mat-vecs run on the
 * project's kernels (F32 on cuBLAS where it loads). Everything else goes to the host backend: routed
 * experts ({@link #hostBackend()}, so they are computed next to the memory that holds them), weight
 * types without a kernel, and matrices that did not fit the budget.
 *
 * <p>Hybrid decode: {@link #startSwiglu} launches the shared expert asynchronously on the stream and
 * returns at once, so the model runs the routed experts on the CPU meanwhile; {@link #stats()} reports
 * how much of the GPU's FFN time the host never had to wait for.
 *
 * <p>Weights are keyed by the address of their data: the model owns the mapping and this backend, and
 * closes the backend before unmapping. One thread at a time (the methods are synchronized).
 */
public final class CudaBackend implements ComputeBackend {
    private static final System.Logger LOG = System.getLogger(CudaBackend.class.getName());

    /** What the backend did so far. */
    public record Stats(String device, Map<String, String> kernelsFrom, String matVecF32, long vramBudget,
                        long vramUsed, Map<String, Long> vramByTag, int residentTensors, int hostTensors,
                        long gpuMatVecs, long hostMatVecs, long asyncFfns, double overlap) {
    }

    private record Key(long address, long bytes) {
    }

    private final ComputeBackend host;
    private final CudaContext ctx;
    private final CudaKernels kernels;
    private final Cublas cublas;   // null: own kernels for F32 too
    private final DeviceMemory<CUdeviceptr> memory;
    private final CUstream stream;
    private final CUevent ffnStart;
    private final CUevent ffnDone;
    private final String deviceName;
    private final Map<Key, DeviceMemory.Block<CUdeviceptr>> resident = new HashMap<>();
    private final Set<Key> onHost = new HashSet<>();
    // activations of synchronous mat-vecs, and of the asynchronous FFN (separate: it may be in flight)
    private final Buffers sync = new Buffers("activations");
    private final Buffers ffn = new Buffers("ffn activations");
    private boolean ffnInFlight;
    private long gpuMatVecs;
    private long hostMatVecs;
    private long asyncFfns;
    private double ffnGpuMs;
    private double ffnWaitMs;
    private boolean closed;

    private CudaBackend(GpuOptions options, ComputeBackend host) {
        this.host = host;
        CudaSupport.Probe p = CudaSupport.probe();
        this.ctx = new CudaContext(options.device());
        CudaKernels k = null;
        Cublas b = null;
        DeviceMemory<CUdeviceptr> m = null;
        try {
            k = new CudaKernels(ctx);
            b = Cublas.tryCreate();
            long free = ctx.memInfo()[0];
            long budget = options.vramBudget() > 0 ? Math.min(options.vramBudget(), free) : free - free / 10;
            m = new DeviceMemory<>(ctx.allocator(), budget);
        } catch (RuntimeException | Error e) {
            if (b != null) {
                b.close();
            }
            if (k != null) {
                k.close();
            }
            ctx.close();
            throw e;
        }
        this.kernels = k;
        this.cublas = b;
        this.memory = m;
        this.stream = ctx.newStream();
        this.ffnStart = ctx.newEvent(true);
        this.ffnDone = ctx.newEvent(true);
        this.deviceName = options.device() == 0 && p.deviceName() != null ? p.deviceName() : "CUDA device " + options.device();
        LOG.log(System.Logger.Level.INFO, "GPU backend on {0}: kernels from {1}, F32 mat-vec by {2}, VRAM budget {3} bytes",
                deviceName, kernels.loadedFrom(), matVecF32Path(), memory.budget());
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
        return new CudaBackend(options, host);
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
                return new CudaBackend(options, host);
            } catch (RuntimeException e) {
                reason = "the GPU backend failed to start: " + e.getMessage();
            }
        }
        if (why != null) {
            why.accept(reason);
        }
        return host;
    }

    private String matVecF32Path() {
        return cublas != null ? "cuBLAS sgemv" : "own kernel (cuBLAS unavailable: " + Cublas.unavailableReason() + ")";
    }

    @Override
    public ComputeBackend hostBackend() {
        return host;
    }

    @Override
    public int threads() {
        return host.threads();
    }

    /** The device copy of {@code w}, uploading it now if the budget allows; null: compute on the host. */
    private DeviceMemory.Block<CUdeviceptr> resident(Tensor w) {
        MemorySegment data = w.data();
        if (!data.isNative() || !CudaKernels.hasMatVec(w.type()) || (w.rank() > 2 && w.dim(2) != 1)) {
            return null;
        }
        Key key = new Key(data.address(), data.byteSize());
        DeviceMemory.Block<CUdeviceptr> b = resident.get(key);
        if (b != null || onHost.contains(key)) {
            return b;
        }
        if (!memory.fits(data.byteSize() + reserve())) {
            onHost.add(key);
            return null;
        }
        b = memory.allocate("weights", data.byteSize());
        upload(data, b.handle());
        resident.put(key, b);
        return b;
    }

    /** VRAM kept free for activations (the largest vectors of a model are a few MB). */
    private static long reserve() {
        return 64L << 20;
    }

    /** Synchronous upload in chunks (a ByteBuffer view is limited to 2 GiB). */
    private void upload(MemorySegment data, CUdeviceptr dst) {
        long chunk = 1L << 30;
        for (long off = 0; off < data.byteSize(); off += chunk) {
            long n = Math.min(chunk, data.byteSize() - off);
            check(cuMemcpyHtoD(dst.withByteOffset(off), Pointer.to(data.asSlice(off, n).asByteBuffer()), n),
                    "upload of " + n + " weight bytes");
        }
    }

    @Override
    public synchronized void matVec(Tensor w, float[] x, int xOff, float[] y, int yOff) {
        ensureOpen();
        ctx.makeCurrent();
        DeviceMemory.Block<CUdeviceptr> dw = resident(w);
        if (dw == null) {
            hostMatVecs++;
            host.matVec(w, x, xOff, y, yOff);
            return;
        }
        int n = Math.toIntExact(w.rowLength());
        int rows = Math.toIntExact(w.rowCount());
        sync.ensure(n, rows, 0);
        sync.stageIn(x, xOff, n, sync.x, stream);
        launchMatVec(w, dw.handle(), sync.x.handle(), sync.y.handle(), n, rows);
        sync.stageOut(sync.y, rows, stream);
        check(cuStreamSynchronize(stream), "cuStreamSynchronize");
        sync.copyOut(y, yOff, rows);
        gpuMatVecs++;
    }

    private void launchMatVec(Tensor w, CUdeviceptr dw, CUdeviceptr x, CUdeviceptr y, int n, int rows) {
        if (w.type() == GgmlType.F32 && cublas != null) {
            cublas.sgemv(dw, n, rows, Math.toIntExact(w.rowBytes() / Float.BYTES), x, y, stream);
        } else {
            kernels.matVec(w.type(), dw, w.rowBytes(), x, y, n, rows, stream);
        }
    }

    @Override
    public synchronized Pending startSwiglu(Tensor gate, Tensor up, Tensor down, float[] h, float[] g, float[] u,
                                            float[] out) {
        ensureOpen();
        ctx.makeCurrent();
        DeviceMemory.Block<CUdeviceptr> dg = resident(gate);
        DeviceMemory.Block<CUdeviceptr> du = dg == null ? null : resident(up);
        DeviceMemory.Block<CUdeviceptr> dd = du == null ? null : resident(down);
        if (dd == null || ffnInFlight) {
            return ComputeBackend.super.startSwiglu(gate, up, down, h, g, u, out);
        }
        int n = Math.toIntExact(gate.rowLength());
        int f = Math.toIntExact(gate.rowCount());
        int d = Math.toIntExact(down.rowCount());
        ffn.ensure(n, d, f);
        check(cuEventRecord(ffnStart, stream), "cuEventRecord");
        ffn.stageIn(h, 0, n, ffn.x, stream);   // h is copied into pinned memory now: the caller may reuse it
        launchMatVec(gate, dg.handle(), ffn.x.handle(), ffn.g.handle(), n, f);
        launchMatVec(up, du.handle(), ffn.x.handle(), ffn.u.handle(), n, f);
        kernels.swiglu(ffn.g.handle(), ffn.u.handle(), f, stream);
        launchMatVec(down, dd.handle(), ffn.g.handle(), ffn.y.handle(), f, d);
        ffn.stageOut(ffn.y, d, stream);
        check(cuEventRecord(ffnDone, stream), "cuEventRecord");
        ffnInFlight = true;
        gpuMatVecs += 3;
        asyncFfns++;
        return () -> awaitFfn(out, d);
    }

    private synchronized void awaitFfn(float[] out, int d) {
        long t0 = System.nanoTime();
        check(cuEventSynchronize(ffnDone), "cuEventSynchronize");
        ffnWaitMs += (System.nanoTime() - t0) / 1e6;
        float[] ms = new float[1];
        check(cuEventElapsedTime(ms, ffnStart, ffnDone), "cuEventElapsedTime");
        ffnGpuMs += ms[0];
        ffn.copyOut(out, 0, d);
        ffnInFlight = false;
    }

    /** What ran where, VRAM in use, and the overlap of the asynchronous FFN with the host's work. */
    public synchronized Stats stats() {
        double overlap = ffnGpuMs > 0 ? Math.max(0, 1 - ffnWaitMs / ffnGpuMs) : Double.NaN;
        return new Stats(deviceName, kernels.loadedFrom(), matVecF32Path(), memory.budget(), memory.used(),
                memory.usedByTag(), resident.size(), onHost.size(), gpuMatVecs, hostMatVecs, asyncFfns, overlap);
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
            ctx.makeCurrent();
            cuStreamSynchronize(stream);
            sync.free();
            ffn.free();
            memory.close();
            cuEventDestroy(ffnStart);
            cuEventDestroy(ffnDone);
            cuStreamDestroy(stream);
            if (cublas != null) {
                cublas.close();
            }
            kernels.close();
            ctx.close();
        } finally {
            host.close();
        }
    }

    /** Device vectors and their pinned staging, grown to the largest shapes seen (never per token). */
    private final class Buffers {
        final String tag;
        DeviceMemory.Block<CUdeviceptr> x;
        DeviceMemory.Block<CUdeviceptr> y;
        DeviceMemory.Block<CUdeviceptr> g;
        DeviceMemory.Block<CUdeviceptr> u;
        CudaContext.Pinned in;
        CudaContext.Pinned outBuf;
        MemorySegment inSeg;
        MemorySegment outSeg;

        Buffers(String tag) {
            this.tag = tag;
        }

        void ensure(int n, int rows, int ffnWidth) {
            x = grow(x, n);
            y = grow(y, rows);
            if (ffnWidth > 0) {
                g = grow(g, ffnWidth);
                u = grow(u, ffnWidth);
            }
            long inBytes = (long) Math.max(n, ffnWidth) * Float.BYTES;
            if (in == null || in.bytes() < inBytes) {
                if (in != null) {
                    ctx.freePinned(in);
                }
                in = ctx.allocPinned(inBytes);
                inSeg = MemorySegment.ofBuffer(in.buffer());
            }
            long outBytes = (long) rows * Float.BYTES;
            if (outBuf == null || outBuf.bytes() < outBytes) {
                if (outBuf != null) {
                    ctx.freePinned(outBuf);
                }
                outBuf = ctx.allocPinned(outBytes);
                outSeg = MemorySegment.ofBuffer(outBuf.buffer());
            }
        }

        private DeviceMemory.Block<CUdeviceptr> grow(DeviceMemory.Block<CUdeviceptr> b, int floats) {
            long bytes = (long) floats * Float.BYTES;
            if (b != null && b.bytes() >= bytes) {
                return b;
            }
            if (b != null) {
                memory.free(b);
            }
            return memory.allocate(tag, Math.max(bytes, 4096));
        }

        void stageIn(float[] v, int off, int n, DeviceMemory.Block<CUdeviceptr> dst, CUstream s) {
            MemorySegment.copy(v, off, inSeg, ValueLayout.JAVA_FLOAT_UNALIGNED, 0, n);
            check(cuMemcpyHtoDAsync(dst.handle(), in.pointer(), (long) n * Float.BYTES, s), "cuMemcpyHtoDAsync");
        }

        void stageOut(DeviceMemory.Block<CUdeviceptr> src, int n, CUstream s) {
            check(cuMemcpyDtoHAsync(outBuf.pointer(), src.handle(), (long) n * Float.BYTES, s), "cuMemcpyDtoHAsync");
        }

        void copyOut(float[] v, int off, int n) {
            MemorySegment.copy(outSeg, ValueLayout.JAVA_FLOAT_UNALIGNED, 0, v, off, n);
        }

        void free() {
            for (DeviceMemory.Block<CUdeviceptr> b : java.util.Arrays.asList(x, y, g, u)) {
                if (b != null) {
                    memory.free(b);
                }
            }
            x = y = g = u = null;
            if (in != null) {
                ctx.freePinned(in);
            }
            if (outBuf != null) {
                ctx.freePinned(outBuf);
            }
            in = outBuf = null;
        }
    }
}
