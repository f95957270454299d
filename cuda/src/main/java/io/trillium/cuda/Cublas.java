package io.trillium.cuda;

import jcuda.Pointer;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUstream;
import jcuda.jcublas.JCublas2;
import jcuda.jcublas.cublasHandle;
import jcuda.jcublas.cublasOperation;
import jcuda.runtime.cudaStream_t;

/**
 * cuBLAS through JCublas2 where {@code libcublas.so.12} loads (a CUDA-13-only machine lacks it): then
 * F32 mat-vecs go to {@code cublasSgemv}; otherwise the project's own kernels do everything.
 * The first failure is cached: JCublas's static initializer cannot be retried.
 */
final class Cublas implements AutoCloseable {
    private static volatile String unavailable;   // cached reason after the first failed load

    private final cublasHandle handle;
    private final Pointer one = Pointer.to(new float[] {1f});
    private final Pointer zero = Pointer.to(new float[] {0f});

    private Cublas(cublasHandle handle) {
        this.handle = handle;
    }

    /** A handle on the current context, or null with {@link #unavailableReason()} set. */
    static synchronized Cublas tryCreate() {
        if (unavailable != null) {
            return null;
        }
        try {
            JCublas2.setExceptionsEnabled(false);
            cublasHandle h = new cublasHandle();
            int rc = JCublas2.cublasCreate(h);
            if (rc != 0) {
                unavailable = "cublasCreate failed: " + jcuda.jcublas.cublasStatus.stringFor(rc);
                return null;
            }
            return new Cublas(h);
        } catch (LinkageError e) {
            unavailable = "libcublas.so.12 not loadable (" + e.getClass().getSimpleName() + ": " + e.getMessage() + ")";
            return null;
        }
    }

    static String unavailableReason() {
        return unavailable;
    }

    /** {@code y = W·x} for F32 W with {@code rows} rows of {@code n} floats ({@code ld} floats apart). */
    void sgemv(CUdeviceptr w, int n, int rows, int ld, CUdeviceptr x, CUdeviceptr y, CUstream s) {
        JCublas2.cublasSetStream(handle, new cudaStream_t(s));
        int rc = JCublas2.cublasSgemv(handle, cublasOperation.CUBLAS_OP_T, n, rows, one, w, ld, x, 1, zero, y, 1);
        if (rc != 0) {
            throw new JCudaGpu.CudaException("cublasSgemv failed: " + jcuda.jcublas.cublasStatus.stringFor(rc));
        }
    }

    @Override
    public void close() {
        JCublas2.cublasDestroy(handle);
    }
}
