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

    /** The providers on the class path / module path, in ServiceLoader order. */
    static List<BackendProvider> installed() {
        List<BackendProvider> all = new ArrayList<>();
        ServiceLoader.load(BackendProvider.class, BackendProvider.class.getClassLoader()).forEach(all::add);
        return all;
    }
}
