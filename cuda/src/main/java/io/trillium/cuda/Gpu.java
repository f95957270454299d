package io.trillium.cuda;

import java.lang.foreign.MemorySegment;
import java.util.Map;

/**
 * The device calls the backend makes, with device addresses as plain {@code long}s: the CUDA driver
 * through JCuda ({@link JCudaGpu}), or, in the tests, the project's kernels compiled for the host
 * ({@code EmulatedGpu}), so that the backend and its kernels run on machines without a GPU.
 * Streams and events are small handles; stream 0 is synchronous. One thread at a time.
 */
interface Gpu extends AutoCloseable {

    /** The device, for logs and stats. */
    String name();

    /** {free, total} bytes of device memory now. */
    long[] memInfo();

    /** {@code bytes} of device memory; an exception naming the driver's error when there are none. */
    long alloc(long bytes);

    void free(long address);

    /** Page-locked host memory (what asynchronous copies need). */
    MemorySegment allocPinned(long bytes);

    void freePinned(MemorySegment pinned);

    long newStream();

    /** An event that can time the work between two records. */
    long newEvent();

    /** {@code bytes} from host {@code src} to device {@code dst}, queued on {@code stream}. */
    void copyToDevice(long dst, MemorySegment src, long bytes, long stream);

    /** {@code bytes} from device {@code src} to host {@code dst}, queued on {@code stream}. */
    void copyToHost(MemorySegment dst, long src, long bytes, long stream);

    /** Zeros {@code bytes} of device memory from {@code dst}, queued on {@code stream}. */
    void zero(long dst, long bytes, long stream);

    /** Launches {@code kernel} on a {@code gridX × gridY} grid of {@code block}-thread blocks; arguments are
     * {@code Long} (device addresses, {@code long long}), {@code Integer} or {@code Float}. */
    void launch(String kernel, int gridX, int gridY, int block, int sharedBytes, long stream, Object... args);

    void record(long event, long stream);

    /** Waits until everything queued before {@code event}'s record has run. */
    void awaitEvent(long event);

    /** Milliseconds between two recorded events. */
    float elapsedMs(long from, long to);

    void awaitStream(long stream);

    /** Per kernel module, what was loaded ("fatbin", "ptx (JIT)", "host emulator"). */
    Map<String, String> kernelsFrom();

    /** cuBLAS sgemv ({@code y = Wᵀ·x} over {@code rows} rows of {@code n} floats, {@code ld} apart) when
     * available; false: the caller uses its own kernel. */
    boolean sgemv(long w, int n, int rows, int ld, long x, long y, long stream);

    /** How F32 mat-vecs are computed. */
    String sgemvPath();

    @Override
    void close();
}
