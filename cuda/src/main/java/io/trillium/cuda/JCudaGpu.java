package io.trillium.cuda;

import jcuda.Pointer;
import jcuda.driver.CUcontext;
import jcuda.driver.CUdevice;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUevent;
import jcuda.driver.CUfunction;
import jcuda.driver.CUmodule;
import jcuda.driver.CUresult;
import jcuda.driver.CUstream;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static jcuda.driver.JCudaDriver.*;

/**
 * {@link Gpu} on the CUDA driver API through JCuda: one device's primary context (shared with the
 * runtime API, so cuBLAS can join it), the project's kernels loaded with {@code cuModuleLoadData} (the
 * fatbin first: SASS for sm_80/86/89/90, no JIT; else the compute_80 PTX, JIT by the driver; nvcc 13
 * output needs an NVIDIA driver r580 or newer) and cuBLAS where {@code libcublas.so.12} loads. Every call
 * first makes the context current on the calling thread.
 */
final class JCudaGpu implements Gpu {
    static final String RESOURCES = "/io/trillium/cuda/kernels/";

    private final String name;
    private final CUdevice device = new CUdevice();
    private final CUcontext context = new CUcontext();
    private final List<CUmodule> modules = new ArrayList<>();
    private final Map<String, CUfunction> functions = new HashMap<>();
    private final Map<String, String> loadedFrom = new LinkedHashMap<>();
    private final List<CUstream> streams = new ArrayList<>();
    private final List<CUevent> events = new ArrayList<>();
    private final Map<Long, Pointer> pinned = new HashMap<>();
    private final Cublas cublas;   // null: own kernels for F32 too
    private boolean closed;

    /** A device pointer JCuda can pass for an address. */
    static CUdeviceptr ptr(long address) {
        return new CUdeviceptr().withByteOffset(address);
    }

    /** Reads the address JCuda filled in (the field is protected in JCuda's pointer classes). */
    private static final class Allocated extends CUdeviceptr {
        long address() {
            return getNativePointer();
        }
    }

    JCudaGpu(int ordinal) {
        CudaSupport.Probe p = CudaSupport.probe();
        if (!p.available()) {
            throw new IllegalStateException("no usable CUDA device: " + p.reason());
        }
        if (ordinal >= p.deviceCount()) {
            throw new IllegalArgumentException("CUDA device " + ordinal + " requested, the driver reports "
                    + p.deviceCount());
        }
        check(cuDeviceGet(device, ordinal), "cuDeviceGet(" + ordinal + ")");
        check(cuDevicePrimaryCtxRetain(context, device), "cuDevicePrimaryCtxRetain");
        byte[] b = new byte[256];
        cuDeviceGetName(b, b.length, device);
        int len = 0;
        while (len < b.length && b[len] != 0) {
            len++;
        }
        this.name = new String(b, 0, len, java.nio.charset.StandardCharsets.UTF_8);
        try {
            makeCurrent();
            for (var e : CudaKernels.ENTRIES.entrySet()) {
                CUmodule m = load(e.getKey());
                modules.add(m);
                for (String fn : e.getValue()) {
                    CUfunction f = new CUfunction();
                    check(cuModuleGetFunction(f, m, fn), "cuModuleGetFunction(" + fn + ")");
                    functions.put(fn, f);
                }
            }
        } catch (RuntimeException ex) {
            close();
            throw ex;
        }
        this.cublas = Cublas.tryCreate();
    }

    static void check(int rc, String what) {
        if (rc != CUresult.CUDA_SUCCESS) {
            throw new CudaException(what + " failed: " + CUresult.stringFor(rc));
        }
    }

    private void makeCurrent() {
        check(cuCtxSetCurrent(context), "cuCtxSetCurrent");
    }

    private CUmodule load(String module) {
        CUmodule m = new CUmodule();
        int rcFat = cuModuleLoadData(m, resource(module + ".fatbin", false));
        if (rcFat == CUresult.CUDA_SUCCESS) {
            loadedFrom.put(module, "fatbin");
            return m;
        }
        int rcPtx = cuModuleLoadData(m, resource(module + ".ptx", true));
        if (rcPtx == CUresult.CUDA_SUCCESS) {
            loadedFrom.put(module, "ptx (JIT)");
            return m;
        }
        throw new CudaException("cannot load kernel module " + module + ": fatbin " + CUresult.stringFor(rcFat)
                + ", PTX " + CUresult.stringFor(rcPtx) + " (the PTX comes from nvcc 13 and needs an NVIDIA driver r580 or newer)");
    }

    /** A kernel resource's bytes; PTX text gets the NUL terminator cuModuleLoadData expects. */
    static byte[] resource(String file, boolean terminate) {
        try (InputStream in = JCudaGpu.class.getResourceAsStream(RESOURCES + file)) {
            if (in == null) {
                throw new IllegalStateException("kernel resource " + RESOURCES + file
                        + " is missing from the jar (run cuda/src/main/cuda/build-ptx.sh)");
            }
            byte[] b = in.readAllBytes();
            return terminate ? java.util.Arrays.copyOf(b, b.length + 1) : b;
        } catch (IOException e) {
            throw new UncheckedIOException("reading kernel resource " + file, e);
        }
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public long[] memInfo() {
        makeCurrent();
        long[] free = new long[1];
        long[] total = new long[1];
        check(cuMemGetInfo(free, total), "cuMemGetInfo");
        return new long[] {free[0], total[0]};
    }

    @Override
    public long alloc(long bytes) {
        makeCurrent();
        Allocated p = new Allocated();
        check(cuMemAlloc(p, bytes), "cuMemAlloc(" + bytes + ")");
        return p.address();
    }

    @Override
    public void free(long address) {
        makeCurrent();
        check(cuMemFree(ptr(address)), "cuMemFree");
    }

    @Override
    public MemorySegment allocPinned(long bytes) {
        makeCurrent();
        Pointer p = new Pointer();
        check(cuMemAllocHost(p, bytes), "cuMemAllocHost(" + bytes + ")");
        MemorySegment s = MemorySegment.ofBuffer(p.getByteBuffer(0, bytes).order(ByteOrder.LITTLE_ENDIAN));
        pinned.put(s.address(), p);
        return s;
    }

    @Override
    public void freePinned(MemorySegment s) {
        Pointer p = pinned.remove(s.address());
        if (p != null) {
            makeCurrent();
            check(cuMemFreeHost(p), "cuMemFreeHost");
        }
    }

    @Override
    public long newStream() {
        makeCurrent();
        CUstream s = new CUstream();
        check(cuStreamCreate(s, jcuda.driver.CUstream_flags.CU_STREAM_NON_BLOCKING), "cuStreamCreate");
        streams.add(s);
        return streams.size();
    }

    private CUstream stream(long s) {
        return s == 0 ? null : streams.get((int) s - 1);
    }

    @Override
    public long newEvent() {
        makeCurrent();
        CUevent e = new CUevent();
        check(cuEventCreate(e, jcuda.driver.CUevent_flags.CU_EVENT_DEFAULT), "cuEventCreate");
        events.add(e);
        return events.size();
    }

    /** Host memory as JCuda passes it (a direct buffer's address). */
    private static Pointer host(MemorySegment s, long bytes) {
        return Pointer.to(s.asSlice(0, bytes).asByteBuffer());
    }

    @Override
    public void copyToDevice(long dst, MemorySegment src, long bytes, long stream) {
        makeCurrent();
        long chunk = 1L << 30;   // a ByteBuffer view is limited to 2 GiB
        for (long off = 0; off < bytes; off += chunk) {
            long n = Math.min(chunk, bytes - off);
            Pointer h = host(src.asSlice(off), n);
            check(stream == 0 ? cuMemcpyHtoD(ptr(dst + off), h, n) : cuMemcpyHtoDAsync(ptr(dst + off), h, n, stream(stream)),
                    "copy of " + n + " bytes to the device");
        }
    }

    @Override
    public void copyToHost(MemorySegment dst, long src, long bytes, long stream) {
        makeCurrent();
        Pointer h = host(dst, bytes);
        check(stream == 0 ? cuMemcpyDtoH(h, ptr(src), bytes) : cuMemcpyDtoHAsync(h, ptr(src), bytes, stream(stream)),
                "copy of " + bytes + " bytes to the host");
    }

    @Override
    public void zero(long dst, long bytes, long stream) {
        makeCurrent();
        check(stream == 0 ? cuMemsetD8(ptr(dst), (byte) 0, bytes) : cuMemsetD8Async(ptr(dst), (byte) 0, bytes, stream(stream)),
                "zeroing " + bytes + " device bytes");
    }

    @Override
    public void launch(String kernel, int gridX, int gridY, int block, int sharedBytes, long stream, Object... args) {
        CUfunction f = functions.get(kernel);
        if (f == null) {
            throw new IllegalArgumentException("no kernel " + kernel);
        }
        Pointer[] ps = new Pointer[args.length];
        for (int i = 0; i < args.length; i++) {
            ps[i] = switch (args[i]) {
                case Integer v -> Pointer.to(new int[] {v});
                case Long v -> Pointer.to(new long[] {v});
                case Float v -> Pointer.to(new float[] {v});
                default -> throw new IllegalArgumentException("kernel argument " + args[i]);
            };
        }
        makeCurrent();
        check(cuLaunchKernel(f, gridX, gridY, 1, block, 1, 1, sharedBytes, stream(stream), Pointer.to(ps), null),
                "launch " + kernel);
    }

    @Override
    public void record(long event, long stream) {
        check(cuEventRecord(events.get((int) event - 1), stream(stream)), "cuEventRecord");
    }

    @Override
    public void awaitEvent(long event) {
        check(cuEventSynchronize(events.get((int) event - 1)), "cuEventSynchronize");
    }

    @Override
    public float elapsedMs(long from, long to) {
        float[] ms = new float[1];
        check(cuEventElapsedTime(ms, events.get((int) from - 1), events.get((int) to - 1)), "cuEventElapsedTime");
        return ms[0];
    }

    @Override
    public void awaitStream(long stream) {
        makeCurrent();
        check(stream == 0 ? cuCtxSynchronize() : cuStreamSynchronize(stream(stream)), "synchronize");
    }

    @Override
    public Map<String, String> kernelsFrom() {
        return Map.copyOf(loadedFrom);
    }

    @Override
    public boolean sgemv(long w, int n, int rows, int ld, long x, long y, long stream) {
        if (cublas == null) {
            return false;
        }
        cublas.sgemv(ptr(w), n, rows, ld, ptr(x), ptr(y), stream(stream));
        return true;
    }

    @Override
    public String sgemvPath() {
        return cublas != null ? "cuBLAS sgemv" : "own kernel (cuBLAS unavailable: " + Cublas.unavailableReason() + ")";
    }

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        makeCurrent();
        cuCtxSynchronize();
        for (Pointer p : pinned.values()) {
            cuMemFreeHost(p);
        }
        pinned.clear();
        events.forEach(e -> cuEventDestroy(e));
        streams.forEach(s -> cuStreamDestroy(s));
        if (cublas != null) {
            cublas.close();
        }
        modules.forEach(m -> cuModuleUnload(m));
        cuDevicePrimaryCtxRelease(device);
    }

    /** A driver call failed; the message names the call and the driver's error. */
    static final class CudaException extends RuntimeException {
        CudaException(String message) {
            super(message);
        }
    }
}
