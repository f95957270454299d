package io.trillium.cuda;

import jcuda.Pointer;
import jcuda.driver.CUcontext;
import jcuda.driver.CUdevice;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUevent;
import jcuda.driver.CUresult;
import jcuda.driver.CUstream;
import jcuda.driver.JCudaDriver;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

import static jcuda.driver.JCudaDriver.*;

/**
 * One device's primary context (shared with the runtime API, so cuBLAS can join it), with thin
 * checked wrappers for the driver calls the backend makes: allocations, pinned host buffers, streams,
 * events. Every call first makes the context current on the calling thread.
 */
final class CudaContext implements AutoCloseable {
    final int ordinal;
    private final CUdevice device = new CUdevice();
    private final CUcontext context = new CUcontext();
    private boolean closed;

    CudaContext(int ordinal) {
        CudaSupport.Probe p = CudaSupport.probe();
        if (!p.available()) {
            throw new IllegalStateException("no usable CUDA device: " + p.reason());
        }
        if (ordinal >= p.deviceCount()) {
            throw new IllegalArgumentException("CUDA device " + ordinal + " requested, the driver reports "
                    + p.deviceCount());
        }
        this.ordinal = ordinal;
        check(cuDeviceGet(device, ordinal), "cuDeviceGet(" + ordinal + ")");
        check(cuDevicePrimaryCtxRetain(context, device), "cuDevicePrimaryCtxRetain");
        makeCurrent();
    }

    static void check(int rc, String what) {
        if (rc != CUresult.CUDA_SUCCESS) {
            throw new CudaException(what + " failed: " + CUresult.stringFor(rc));
        }
    }

    void makeCurrent() {
        check(cuCtxSetCurrent(context), "cuCtxSetCurrent");
    }

    /** {free, total} bytes of device memory now. */
    long[] memInfo() {
        makeCurrent();
        long[] free = new long[1];
        long[] total = new long[1];
        check(cuMemGetInfo(free, total), "cuMemGetInfo");
        return new long[] {free[0], total[0]};
    }

    /** The allocator behind {@link DeviceMemory}. */
    DeviceAllocator<CUdeviceptr> allocator() {
        return new DeviceAllocator<>() {
            @Override
            public CUdeviceptr allocate(long bytes) {
                makeCurrent();
                CUdeviceptr p = new CUdeviceptr();
                check(cuMemAlloc(p, bytes), "cuMemAlloc(" + bytes + ")");
                return p;
            }

            @Override
            public void free(CUdeviceptr handle) {
                makeCurrent();
                check(cuMemFree(handle), "cuMemFree");
            }
        };
    }

    /** Page-locked host memory: the staging buffers async copies need. */
    record Pinned(Pointer pointer, ByteBuffer buffer, long bytes) {
    }

    Pinned allocPinned(long bytes) {
        makeCurrent();
        Pointer p = new Pointer();
        check(cuMemAllocHost(p, bytes), "cuMemAllocHost(" + bytes + ")");
        return new Pinned(p, p.getByteBuffer(0, bytes).order(ByteOrder.LITTLE_ENDIAN), bytes);
    }

    void freePinned(Pinned p) {
        makeCurrent();
        check(cuMemFreeHost(p.pointer()), "cuMemFreeHost");
    }

    CUstream newStream() {
        makeCurrent();
        CUstream s = new CUstream();
        check(cuStreamCreate(s, jcuda.driver.CUstream_flags.CU_STREAM_NON_BLOCKING), "cuStreamCreate");
        return s;
    }

    CUevent newEvent(boolean timing) {
        makeCurrent();
        CUevent e = new CUevent();
        check(cuEventCreate(e, timing ? jcuda.driver.CUevent_flags.CU_EVENT_DEFAULT
                : jcuda.driver.CUevent_flags.CU_EVENT_DISABLE_TIMING), "cuEventCreate");
        return e;
    }

    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            JCudaDriver.cuDevicePrimaryCtxRelease(device);
        }
    }

    /** A driver call failed; the message names the call and the driver's error. */
    static final class CudaException extends RuntimeException {
        CudaException(String message) {
            super(message);
        }
    }
}
