package io.trillium.model;

import io.trillium.backend.ComputeBackend;
import io.trillium.gguf.TensorSource;
import io.trillium.moe.ExpertSource;
import io.trillium.moe.Prefetcher;
import io.trillium.tier.ExpertCache;
import io.trillium.tier.ExpertPlacement;

import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

/**
 * What both forward passes keep about their routed experts and weight traffic: where the experts
 * come from (as the placement says), the {@link Prefetcher} that counts and prefetches routing
 * decisions, and the tokens run, from which the bytes read per tier follow.
 */
final class RoutedExperts implements AutoCloseable {
    final ExpertSource source;     // null for a dense model
    final Prefetcher prefetcher;   // null for a dense model
    private final long alwaysActiveBytes;
    private final AtomicLong tokens = new AtomicLong();
    /** Where the always-active part is read from: "dram", or "vram" when the model runs it on a device. */
    volatile String alwaysActiveTier = "dram";
    /** Bytes of routed experts computed from VRAM copies. */
    final AtomicLong vramExpertBytes = new AtomicLong();

    /**
     * The experts of the MoE layers ({@code isMoe[l]}, their routers {@code gates}) of {@code weights}
     * where {@code placement} puts them; none when {@code moe} is false.
     *
     * @throws IllegalArgumentException an expert cache whose budget cannot hold one token's experts
     */
    RoutedExperts(TensorSource weights, ModelConfig cfg, ComputeBackend backend, ExpertPlacement placement,
                  boolean moe, boolean[] isMoe, Prefetcher.Gate[] gates) {
        this.source = moe ? Models.experts(weights, placement, isMoe, cfg.experts()) : null;
        if (source instanceof ExpertCache cache) {
            try {
                cache.requireSlots(cfg.expertsUsed());
            } catch (RuntimeException e) {
                cache.close();
                throw e;
            }
        }
        this.prefetcher = source != null ? new Prefetcher(source, backend, cfg.routing(), gates) : null;
        this.alwaysActiveBytes = Models.alwaysActiveBytes(weights, cfg);
    }

    /** {@code n} more tokens went through the model. */
    void forwarded(int n) {
        tokens.addAndGet(n);
    }

    long tokens() {
        return tokens.get();
    }

    /** Weight bytes read so far by tier (see {@link LanguageModel#bytesRead()}). */
    Map<String, Long> bytesRead() {
        Map<String, Long> m = WeightBytes.traffic(alwaysActiveBytes, tokens.get(), source);
        if (!alwaysActiveTier.equals("dram")) {   // only the always-active bytes move; experts stay where read
            long aa = alwaysActiveBytes * tokens.get();
            long dram = m.getOrDefault("dram", 0L) - aa;
            if (dram > 0) {
                m.put("dram", dram);
            } else {
                m.remove("dram");
            }
            m.merge(alwaysActiveTier, aa, Long::sum);
        }
        if (vramExpertBytes.get() > 0) {
            m.merge("vram", vramExpertBytes.get(), Long::sum);
        }
        return m;
    }

    /** Closes the expert source (a cache's threads and tiers); a failure there must not keep the file open. */
    @Override
    public void close() {
        if (source instanceof AutoCloseable c) {
            try {
                c.close();
            } catch (Exception e) {
                System.getLogger(RoutedExperts.class.getName()).log(System.Logger.Level.WARNING,
                        "closing the expert source failed", e);
            }
        }
    }
}
