package io.trillium.cuda;

import io.trillium.backend.BackendProvider;
import io.trillium.backend.ComputeBackend;

/**
 * The cuda module's entry in {@link java.util.ServiceLoader}: a {@link CudaBackend} with the options of
 * {@code -Dtrillium.gpu} / {@code -Dtrillium.vram} ({@link GpuOptions#fromSystemProperties()}).
 */
public final class CudaBackendProvider implements BackendProvider {

    @Override
    public String name() {
        return "cuda";
    }

    @Override
    public String unavailableReason() {
        if (GpuOptions.fromSystemProperties().mode() == GpuOptions.Mode.OFF) {
            return "the GPU is switched off (trillium.gpu=off)";
        }
        CudaSupport.Probe p = CudaSupport.probe();
        return p.available() ? null : "no usable CUDA device: " + p.reason();
    }

    @Override
    public ComputeBackend create(ComputeBackend host) {
        return CudaBackend.create(GpuOptions.fromSystemProperties(), host);
    }

    @Override
    public ComputeBackend create(ComputeBackend host, int device, long memoryBudget) {
        GpuOptions o = device < 0 ? new GpuOptions(GpuOptions.Mode.AUTO, 0, memoryBudget)
                : new GpuOptions(GpuOptions.Mode.DEVICE, device, memoryBudget);
        return CudaBackend.create(o, host);
    }
}
