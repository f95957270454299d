package io.trillium.cuda;

import java.util.Map;

/**
 * The counters behind {@link CudaBackend#stats()} and {@link CudaBackend#report()}: products on the GPU
 * and on the host, the asynchronous FFN's GPU time and the host's wait for it, the device step's syncs
 * and the bytes of streamed experts. Separate from the backend so that the device code only says what
 * happened, and the bookkeeping and its wording live in one place. Not synchronized: every call comes
 * under the backend's lock.
 */
final class CudaStats {
    private long gpuMatVecs;
    private long hostMatVecs;
    private long asyncFfns;
    private double ffnGpuMs;
    private double ffnWaitMs;
    private long deviceSyncs;
    private double deviceSyncWaitMs;
    private long stagedBytes;

    /** {@code count} products ran on the GPU. */
    void gpuProducts(long count) {
        gpuMatVecs += count;
    }

    /** A matrix-by-matrix product fell back to the host. */
    void hostProduct() {
        hostMatVecs++;
    }

    /** An FFN was queued on the GPU asynchronously. */
    void asyncFfnStarted() {
        asyncFfns++;
    }

    /** The host waited {@code waitMs} for an asynchronous FFN that took the GPU {@code gpuMs}. */
    void asyncFfnAwaited(double waitMs, double gpuMs) {
        ffnWaitMs += waitMs;
        ffnGpuMs += gpuMs;
    }

    /** The device step waited {@code waitMs} for its stream, to download a result. */
    void deviceSync(double waitMs) {
        deviceSyncWaitMs += waitMs;
        deviceSyncs++;
    }

    /** {@code bytes} of a streamed expert were copied to a staging slot. */
    void staged(long bytes) {
        stagedBytes += bytes;
    }

    /** The counters with the device's name and paths, its VRAM, and how many matrices are resident / on the host. */
    CudaBackend.Stats snapshot(Gpu gpu, DeviceMemory<Long> memory, int residentTensors, int hostTensors) {
        double overlap = ffnGpuMs > 0 ? Math.max(0, 1 - ffnWaitMs / ffnGpuMs) : Double.NaN;
        return new CudaBackend.Stats(gpu.name(), gpu.kernelsFrom(), gpu.sgemvPath(), memory.budget(), memory.used(),
                memory.usedByTag(), residentTensors, hostTensors, gpuMatVecs, hostMatVecs, asyncFfns, overlap,
                deviceSyncs, deviceSyncWaitMs, stagedBytes);
    }

    /** {@code st} in one line, for {@link CudaBackend#report()}. */
    static String report(CudaBackend.Stats st) {
        StringBuilder b = new StringBuilder();
        b.append(st.device()).append(": VRAM ").append(mib(st.vramUsed())).append(" of ").append(mib(st.vramBudget()))
                .append(" MiB ").append(mibs(st.vramByTag()));
        b.append(", ").append(st.gpuMatVecs()).append(" products on the GPU, ").append(st.hostMatVecs()).append(" on the host");
        if (st.deviceSyncs() > 0) {
            b.append(String.format(", device step: %d syncs, host waited %.1f ms", st.deviceSyncs(), st.deviceSyncWaitMs()));
        }
        if (st.asyncFfns() > 0) {
            b.append(String.format(", shared expert overlapped %.0f%%", 100 * st.overlap()));
        }
        if (st.stagedBytes() > 0) {
            b.append(", experts streamed ").append(mib(st.stagedBytes())).append(" MiB");
        }
        return b.toString();
    }

    private static long mib(long bytes) {
        return bytes >> 20;
    }

    private static String mibs(Map<String, Long> byTag) {
        StringBuilder b = new StringBuilder("(");
        byTag.forEach((k, v) -> b.append(b.length() > 1 ? ", " : "").append(k).append(' ').append(mib(v)));
        return b.append(')').toString();
    }
}
