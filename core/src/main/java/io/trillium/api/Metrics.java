package io.trillium.api;

import java.time.Duration;
import java.util.Map;

/**
 * Timings of one generation.
 *
 * @param promptTokens             prompt tokens fed to the model (not counting reused cached ones)
 * @param cachedPromptTokens       prompt tokens reused from the session's KV cache
 * @param promptTokensPerSecond    prompt processing speed
 * @param generatedTokens          tokens generated
 * @param decodeTokensPerSecond    generation speed after the first token
 * @param timeToFirstToken         from the call until the first token was sampled
 * @param bytesReadPerTier         weight bytes read during the generation, by tier name ("dram", "pmem",
 *                                 "nvme"): the always-active part of each token from DRAM, the routed
 *                                 experts from the tier that supplied them (a slow tier's count includes
 *                                 prefetched reads; with concurrent sessions, their reads too)
 */
public record Metrics(int promptTokens, int cachedPromptTokens, double promptTokensPerSecond, int generatedTokens,
                      double decodeTokensPerSecond, Duration timeToFirstToken, Map<String, Long> bytesReadPerTier) {
    /** Copies the tier map. */
    public Metrics {
        bytesReadPerTier = Map.copyOf(bytesReadPerTier);
    }
}
