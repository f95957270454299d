package io.trillium.cuda;

import io.trillium.backend.ComputeBackend;
import io.trillium.backend.Device;
import io.trillium.quant.GgmlType;
import io.trillium.quant.Tensor;

import java.lang.foreign.MemorySegment;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

/**
 * The weight matrices in VRAM and the matrix-by-matrix path over them: which matrices are uploaded
 * (while the budget allows, keyed by the address of their data), which stay on the host, the mat-vec
 * and the asynchronous SwiGLU FFN of {@link CudaBackend#matVec} and {@link CudaBackend#startSwiglu},
 * and the host fallback for a matrix that is not resident. Separate from the backend, which owns the
 * device (its memory, stream and kernels, lent here) and the {@link Device} view that shares these
 * matrices. Not synchronized: every call comes under the backend's lock.
 */
final class MatrixOffload {
    private record Key(long address, long bytes) {
    }

    private final ComputeBackend host;
    private final Gpu gpu;
    private final CudaKernels kernels;
    private final DeviceMemory<Long> memory;
    private final long stream;
    private final CudaStats stats;
    private final long ffnStart;
    private final long ffnDone;
    private final Map<Key, DeviceMemory.Block<Long>> resident = new HashMap<>();
    private final Set<Key> onHost = new HashSet<>();
    // activations of synchronous mat-vecs, and of the asynchronous FFN (separate: it may be in flight)
    private final Buffers sync = new Buffers("activations");
    private final Buffers ffn = new Buffers("ffn activations");
    private boolean ffnInFlight;

    /** The offload onto the backend's device, falling back to {@code host}; creates the FFN's two events. */
    MatrixOffload(ComputeBackend host, Gpu gpu, CudaKernels kernels, DeviceMemory<Long> memory, long stream,
                  CudaStats stats) {
        this.host = host;
        this.gpu = gpu;
        this.kernels = kernels;
        this.memory = memory;
        this.stream = stream;
        this.stats = stats;
        this.ffnStart = gpu.newEvent();
        this.ffnDone = gpu.newEvent();
    }

    /**
     * The device copy of {@code w} (2-D, or a 3-D stack when {@code stacks}), uploading it now if the
     * budget allows; null: host. A matrix of the matrix-by-matrix path that did not fit is remembered
     * ({@code stacks} false), one asked for through {@link Device#matrix} may be asked again later.
     */
    DeviceMemory.Block<Long> resident(Tensor w, boolean stacks) {
        MemorySegment data = w.data();
        if (!data.isNative() || !CudaKernels.hasMatVec(w.type()) || (!stacks && w.rank() > 2 && w.dim(2) != 1)) {
            return null;
        }
        Key key = new Key(data.address(), data.byteSize());
        DeviceMemory.Block<Long> b = resident.get(key);
        if (b != null || onHost.contains(key)) {
            return b;
        }
        if (!memory.fits(data.byteSize() + CudaBackend.reserve())) {
            if (!stacks) {
                onHost.add(key);
            }
            return null;
        }
        b = memory.allocate("weights", data.byteSize());
        // on the work stream: a copy on the null stream is not ordered before the non-blocking stream's
        // kernels, and from pageable (mapped) memory it may return before the data has landed
        gpu.copyToDevice(b.handle(), data, data.byteSize(), stream);
        resident.put(key, b);
        return b;
    }

    /** Frees the device copy of {@code w} once no queued kernel may still read it. */
    void release(Tensor w) {
        MemorySegment data = w.data();
        DeviceMemory.Block<Long> b = resident.remove(new Key(data.address(), data.byteSize()));
        if (b == null) {
            throw new IllegalStateException("matrix " + w.name() + " is not in VRAM");
        }
        gpu.awaitStream(stream);   // no queued kernel may still read it
        memory.free(b);
    }

    /** Matrices in VRAM. */
    int residentCount() {
        return resident.size();
    }

    /** Matrices of the matrix-by-matrix path that did not fit, and stay on the host. */
    int onHostCount() {
        return onHost.size();
    }

    /** {@code y = w·x} on the GPU when {@code w} is resident, else on the host. */
    void matVec(Tensor w, float[] x, int xOff, float[] y, int yOff) {
        DeviceMemory.Block<Long> dw = resident(w, false);
        if (dw == null) {
            stats.hostProduct();
            host.matVec(w, x, xOff, y, yOff);
            return;
        }
        int n = Math.toIntExact(w.rowLength());
        int rows = Math.toIntExact(w.rowCount());
        sync.ensure(n, rows, 0);
        sync.stageIn(x, xOff, n, sync.x);
        launchMatVec(w, dw.handle(), rows, 1, 0, sync.x.handle(), 0, sync.y.handle(), 0);
        sync.stageOut(sync.y, rows);
        gpu.awaitStream(stream);
        sync.copyOut(y, yOff, rows);
    }

    /**
     * Queues the product of {@code rows} rows of the resident {@code w} (device copy {@code dw}) with
     * {@code x}, for each of {@code heads} heads {@code headBytes} apart: cuBLAS for one F32 head where it
     * loads, else the project's kernel.
     */
    void launchMatVec(Tensor w, long dw, int rows, int heads, long headBytes, long x, int xStride, long y,
                      int yStride) {
        int n = Math.toIntExact(w.rowLength());
        if (heads == 1 && w.type() == GgmlType.F32
                && gpu.sgemv(dw, n, rows, Math.toIntExact(w.rowBytes() / Float.BYTES), x, y, stream)) {
            stats.gpuProducts(1);
            return;
        }
        kernels.matVec(w.type(), dw, w.rowBytes(), rows, heads, headBytes, x, xStride, y, yStride, n, stream);
        stats.gpuProducts(heads);
    }

    /**
     * Queues the SwiGLU FFN on the GPU, its result to land in {@code out}; null when one of the three
     * matrices is not resident or an FFN is already in flight (the caller then computes it another way).
     * The returned wait must run under the backend's lock.
     */
    ComputeBackend.Pending startSwiglu(Tensor gate, Tensor up, Tensor down, float[] h, float[] out) {
        DeviceMemory.Block<Long> dg = resident(gate, false);
        DeviceMemory.Block<Long> du = dg == null ? null : resident(up, false);
        DeviceMemory.Block<Long> dd = du == null ? null : resident(down, false);
        if (dd == null || ffnInFlight) {
            return null;
        }
        int n = Math.toIntExact(gate.rowLength());
        int f = Math.toIntExact(gate.rowCount());
        int d = Math.toIntExact(down.rowCount());
        ffn.ensure(n, d, f);
        gpu.record(ffnStart, stream);
        ffn.stageIn(h, 0, n, ffn.x);   // h is copied into pinned memory now: the caller may reuse it
        launchMatVec(gate, dg.handle(), f, 1, 0, ffn.x.handle(), 0, ffn.g.handle(), 0);
        launchMatVec(up, du.handle(), f, 1, 0, ffn.x.handle(), 0, ffn.u.handle(), 0);
        kernels.swiglu(ffn.g.handle(), ffn.u.handle(), f, stream);
        launchMatVec(down, dd.handle(), d, 1, 0, ffn.g.handle(), 0, ffn.y.handle(), 0);
        ffn.stageOut(ffn.y, d);
        gpu.record(ffnDone, stream);
        ffnInFlight = true;
        stats.asyncFfnStarted();
        return () -> awaitFfn(out, d);
    }

    private void awaitFfn(float[] out, int d) {
        long t0 = System.nanoTime();
        gpu.awaitEvent(ffnDone);
        stats.asyncFfnAwaited((System.nanoTime() - t0) / 1e6, gpu.elapsedMs(ffnStart, ffnDone));
        ffn.copyOut(out, 0, d);
        ffnInFlight = false;
    }

    /** Frees the activation buffers (device and pinned); the caller has awaited the stream. */
    void freeBuffers() {
        sync.free();
        ffn.free();
    }

    /** Device vectors and their pinned staging, grown to the largest shapes seen (never per token). */
    private final class Buffers {
        final String tag;
        DeviceMemory.Block<Long> x;
        DeviceMemory.Block<Long> y;
        DeviceMemory.Block<Long> g;
        DeviceMemory.Block<Long> u;
        MemorySegment in;
        MemorySegment out;

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
            in = CudaBackend.pinned(gpu, in, (long) Math.max(n, ffnWidth) * Float.BYTES);
            out = CudaBackend.pinned(gpu, out, (long) rows * Float.BYTES);
        }

        private DeviceMemory.Block<Long> grow(DeviceMemory.Block<Long> b, int floats) {
            long bytes = (long) floats * Float.BYTES;
            if (b != null && b.bytes() >= bytes) {
                return b;
            }
            if (b != null) {
                memory.free(b);
            }
            return memory.allocate(tag, Math.max(bytes, 4096));
        }

        void stageIn(float[] v, int off, int n, DeviceMemory.Block<Long> dst) {
            MemorySegment.copy(v, off, in, CudaBackend.F32, 0, n);
            gpu.copyToDevice(dst.handle(), in, (long) n * Float.BYTES, stream);
        }

        void stageOut(DeviceMemory.Block<Long> src, int n) {
            gpu.copyToHost(out, src.handle(), (long) n * Float.BYTES, stream);
        }

        void copyOut(float[] v, int off, int n) {
            MemorySegment.copy(out, CudaBackend.F32, 0, v, off, n);
        }

        void free() {
            for (DeviceMemory.Block<Long> b : java.util.Arrays.asList(x, y, g, u)) {
                if (b != null) {
                    memory.free(b);
                }
            }
            x = y = g = u = null;
            if (in != null) {
                gpu.freePinned(in);
            }
            if (out != null) {
                gpu.freePinned(out);
            }
            in = out = null;
        }
    }
}
