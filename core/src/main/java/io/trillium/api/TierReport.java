package io.trillium.api;

import io.trillium.model.LanguageModel;
import io.trillium.moe.ExpertStats;
import io.trillium.moe.Prefetcher;
import io.trillium.tier.ExpertCache;

import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * Where a model's weight bytes came from since load, and how the expert cache and the next-layer
 * prediction did.
 *
 * @param tokens             tokens run through the model
 * @param bytesRead          weight bytes by tier (see {@link Metrics#bytesReadPerTier()})
 * @param cache              the expert cache's counters (NVMe tier), if there is one
 * @param predictionAccuracy fraction of chosen experts that the previous layer predicted (NaN: no prediction ran)
 * @param expertStats        how often each expert was chosen (null for a dense model)
 */
public record TierReport(long tokens, Map<String, Long> bytesRead, Optional<ExpertCache.Stats> cache,
                         double predictionAccuracy, ExpertStats expertStats) {
    /** Copies the map. */
    public TierReport {
        bytesRead = Map.copyOf(bytesRead);
    }

    /** The counters of {@code model} now. */
    public static TierReport of(LanguageModel model) {
        Prefetcher p = model.prefetcher();
        Optional<ExpertCache.Stats> cache = model.expertSource() instanceof ExpertCache c
                ? Optional.of(c.stats()) : Optional.empty();
        return new TierReport(model.tokensForwarded(), model.bytesRead(), cache,
                p == null ? Double.NaN : p.accuracy(), p == null ? null : p.stats());
    }

    /**
     * What happened since {@code earlier} (of the same model): tokens, bytes and cache counters as
     * differences; prediction accuracy and expert statistics stay since load.
     */
    public TierReport since(TierReport earlier) {
        return new TierReport(tokens - earlier.tokens, difference(bytesRead, earlier.bytesRead),
                cache.map(c -> earlier.cache.map(c::since).orElse(c)), predictionAccuracy, expertStats);
    }

    /** Per-tier bytes of {@code after} less those of {@code before}. */
    static Map<String, Long> difference(Map<String, Long> after, Map<String, Long> before) {
        Map<String, Long> d = new java.util.TreeMap<>();
        after.forEach((tier, bytes) -> d.put(tier, bytes - before.getOrDefault(tier, 0L)));
        return d;
    }

    /** Bytes per token from {@code tier} (0 before the first token). */
    public double bytesPerToken(String tier) {
        return tokens == 0 ? 0 : (double) bytesRead.getOrDefault(tier, 0L) / tokens;
    }

    /** A few lines for people: bytes per token by tier, cache hit rate and DRAM use, prediction. */
    public String format() {
        StringBuilder b = new StringBuilder();
        b.append(String.format(Locale.ROOT, "tiers: %d tokens;", tokens));
        bytesRead.keySet().stream().sorted().forEach(t -> b.append(String.format(Locale.ROOT,
                " %s %.1f MiB/token", t, bytesPerToken(t) / (1 << 20))));
        b.append('\n');
        cache.ifPresent(c -> b.append(String.format(Locale.ROOT,
                "expert cache: %s, %s, hit rate %.1f%% (%d hits, %d in flight, %d misses), DRAM %.0f of %.0f MiB, "
                        + "%d pinned (%.0f MiB), read time hidden %.0f%%, prefetches %d (%d used)%n",
                c.tier(), c.policy().name().toLowerCase(Locale.ROOT), 100 * c.hitRate(), c.hits(), c.inFlight(),
                c.misses(), c.dramUsed() / 1048576.0, c.dramBudget() / 1048576.0, c.pinned(),
                c.pinnedBytes() / 1048576.0, 100 * c.hiddenReadFraction(), c.prefetches(), c.prefetchesUsed())));
        if (!Double.isNaN(predictionAccuracy)) {
            b.append(String.format(Locale.ROOT, "prediction: %.1f%% of chosen experts predicted one layer ahead%n",
                    100 * predictionAccuracy));
        }
        return b.toString();
    }
}
