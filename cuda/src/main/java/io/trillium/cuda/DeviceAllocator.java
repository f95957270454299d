package io.trillium.cuda;

/** Raw device allocations behind {@link DeviceMemory}: the CUDA driver, or a fake in tests. */
public interface DeviceAllocator<H> {
    /** {@code bytes} of device memory, or an exception naming the driver's error. */
    H allocate(long bytes);

    void free(H handle);
}
