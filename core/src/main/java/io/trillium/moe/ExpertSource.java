package io.trillium.moe;

import java.util.Map;

/**
 * Where the routed experts' weights come from. The forward pass asks for each chosen expert here;
 * the tier layer puts an expert cache (DRAM over PMem or NVMe) or in-place mappings behind it.
 */
public interface ExpertSource {
    /**
     * The weights of expert {@code expert} of layer {@code layer}, readable until the caller
     * {@link #release}s them (a cache may reuse the memory afterwards).
     */
    ExpertWeights expert(int layer, int expert);

    /** The caller is done with weights it got from {@link #expert}; once for each call. */
    default void release(int layer, int expert) {
    }

    /**
     * Hint: expert {@code expert} of {@code layer} will (or, when {@code speculative}, may) be asked
     * for soon; a source that reads from a slow tier starts that read now. Returns at once.
     */
    default void prefetch(int layer, int expert, boolean speculative) {
    }

    /** Whether {@link #prefetch} does anything (else the forward pass skips predicting). */
    default boolean prefetches() {
        return false;
    }

    /** Whether the forward pass should also {@link #prefetch} the experts it predicts for the next layer. */
    default boolean wantsPredictions() {
        return false;
    }

    /**
     * Whether a caller may hold any number of experts at once (weights read in place): a prompt's experts
     * then run as one set. A cache holds as many as a token's step chooses and no more (asking for more
     * could wait for room that only the held ones free), so by default a prompt goes that many at a time.
     */
    default boolean holdsAny() {
        return false;
    }

    /** Routed-expert weight bytes delivered so far, by tier name ("dram", "pmem", "nvme"). */
    default Map<String, Long> bytesRead() {
        return Map.of();
    }
}
