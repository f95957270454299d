package io.trillium.backend;

import java.util.ArrayList;
import java.util.List;
import java.util.ServiceLoader;

/**
 * A compute backend found through {@link ServiceLoader} (the cuda module provides one), so a host
 * application only adds the dependency. Core never names an implementation.
 */
public interface BackendProvider {

    /** Short name, e.g. {@code "cuda"}. */
    String name();

    /** {@code null} when {@link #create} can work on this machine, else why not (no driver, no device ...). */
    String unavailableReason();

    /**
     * A backend that computes what it can itself and hands the rest (routed experts, unsupported types)
     * to {@code host}; it owns {@code host} and closes it.
     */
    ComputeBackend create(ComputeBackend host);

    /**
     * As {@link #create(ComputeBackend)} on device {@code device} (-1: the provider's choice) with at
     * most {@code memoryBudget} bytes of device memory (0: what the device has free, less a reserve).
     */
    default ComputeBackend create(ComputeBackend host, int device, long memoryBudget) {
        if (device > 0 || memoryBudget > 0) {
            throw new UnsupportedOperationException(name() + " takes no device or memory options");
        }
        return create(host);
    }

    /** The providers on the class path / module path, in ServiceLoader order. */
    static List<BackendProvider> installed() {
        List<BackendProvider> all = new ArrayList<>();
        ServiceLoader.load(BackendProvider.class, BackendProvider.class.getClassLoader()).forEach(all::add);
        return all;
    }
}
