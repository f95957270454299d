package io.trillium.tier;

import io.trillium.gguf.GgufFile;
import io.trillium.moe.ExpertSource;
import io.trillium.moe.ExpertStats;
import io.trillium.moe.GgufExperts;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Supplier;

/** Where a model's routed experts are read from; the model builds its {@link ExpertSource} with it. */
@FunctionalInterface
public interface ExpertPlacement {
    /** The experts of the MoE layers ({@code isMoe[l]}) of {@code gguf}. */
    ExpertSource source(GgufFile gguf, boolean[] isMoe, int experts);

    /**
     * The experts {@code layout} locates (a safetensors checkpoint's entries); the built-in tier
     * placements support it, a placement written for GGUF files only says so.
     */
    default ExpertSource source(ExpertLayout layout) {
        throw new UnsupportedOperationException("this expert placement reads GGUF files only");
    }

    /** A placement defined on layouts: a GGUF file is seen through {@link ExpertLayout#gguf}. */
    private static ExpertPlacement ofLayout(java.util.function.Function<ExpertLayout, ExpertSource> open) {
        return new ExpertPlacement() {
            @Override
            public ExpertSource source(GgufFile gguf, boolean[] isMoe, int experts) {
                return open.apply(ExpertLayout.gguf(gguf, isMoe, experts));
            }

            @Override
            public ExpertSource source(ExpertLayout layout) {
                return open.apply(layout);
            }
        };
    }

    /** Every expert read in place from the mapped file (DRAM: the page cache). */
    static ExpertPlacement mapped() {
        return Mapped.MAPPED;
    }

    /** Every expert computed on in place where an in-place tier maps it (PMem with DAX). */
    static ExpertPlacement inPlace(Supplier<? extends Tier> tier) {
        return ofLayout(layout -> new InPlaceExperts(layout, tier.get()));
    }

    /**
     * Experts cached in {@code dramBudget} bytes of DRAM, read on a miss from a tier made by
     * {@code tier} (e.g. {@code NvmeTier::new}); each model gets its own tier and closes it. LRU, no
     * pinned set.
     */
    static ExpertPlacement cached(Supplier<? extends Tier> tier, long dramBudget) {
        return cached(tier, dramBudget, null);
    }

    /**
     * As {@link #cached(Supplier, long)}, reading the experts from {@code repacked} (a {@code trillium
     * repack} file of this model, checked against it: one read per expert) or, when null, from the GGUF.
     */
    static ExpertPlacement cached(Supplier<? extends Tier> tier, long dramBudget, Path repacked) {
        return cached(tier, new CacheOptions(dramBudget, ExpertCache.Policy.LFU, null, 0, 8), repacked);
    }

    /** Experts cached as {@code options} say, read from a tier made by {@code tier} (from the GGUF). */
    static ExpertPlacement cached(Supplier<? extends Tier> tier, CacheOptions options) {
        return cached(tier, options, null);
    }

    /** Experts cached as {@code options} say, read from a tier made by {@code tier}, from {@code repacked} or the GGUF. */
    static ExpertPlacement cached(Supplier<? extends Tier> tier, CacheOptions options, Path repacked) {
        if (repacked == null) {
            return ofLayout(layout -> options.open(layout, tier.get()));
        }
        return (gguf, isMoe, experts) -> options.open(layout(gguf, isMoe, experts, repacked), tier.get());
    }

    /**
     * Experts read with direct I/O ({@link NvmeTier}) into {@code dramBudget} bytes of DRAM, from the
     * model's repacked file {@code MODEL.experts} ({@link RepackedLayout#beside}) when there is one,
     * else from the GGUF. A repack file that does not match the model is an error, not skipped.
     */
    static ExpertPlacement nvme(long dramBudget) {
        return nvme(new CacheOptions(dramBudget, ExpertCache.Policy.LFU, null, 0, 8));
    }

    /** As {@link #nvme(long)}, the cache set up as {@code options} say. */
    static ExpertPlacement nvme(CacheOptions options) {
        return new ExpertPlacement() {
            @Override
            public ExpertSource source(GgufFile gguf, boolean[] isMoe, int experts) {
                Path r = RepackedLayout.beside(gguf.files().getFirst());
                return cached(NvmeTier::new, options, Files.exists(r) ? r : null).source(gguf, isMoe, experts);
            }

            @Override
            public ExpertSource source(ExpertLayout layout) {
                return options.open(layout, new NvmeTier());
            }
        };
    }

    private static ExpertLayout layout(GgufFile gguf, boolean[] isMoe, int experts, Path repacked) {
        if (repacked == null) {
            return ExpertLayout.gguf(gguf, isMoe, experts);
        }
        try {
            return RepackedLayout.open(repacked, gguf, isMoe, experts);
        } catch (IOException e) {
            throw new UncheckedIOException(e.getMessage(), e);
        }
    }

    /**
     * How an {@link ExpertCache} is set up.
     *
     * @param dramBudget  bytes of DRAM for expert slots
     * @param policy      eviction of unpinned slots
     * @param hot         statistics whose most chosen experts are pinned, or null
     * @param pinFraction share of the budget for the pinned set, in [0, 1)
     * @param ioThreads   reads in flight at most
     * @param predict     also prefetch the experts predicted for the next layer
     */
    record CacheOptions(long dramBudget, ExpertCache.Policy policy, ExpertStats hot, double pinFraction,
                        int ioThreads, boolean predict) {
        /** Without next-layer prediction. */
        public CacheOptions(long dramBudget, ExpertCache.Policy policy, ExpertStats hot, double pinFraction,
                            int ioThreads) {
            this(dramBudget, policy, hot, pinFraction, ioThreads, false);
        }

        public CacheOptions {
            if (dramBudget <= 0 || !(pinFraction >= 0 && pinFraction < 1) || ioThreads < 1 || policy == null) {
                throw new IllegalArgumentException("bad expert cache options: budget " + dramBudget
                        + ", pinned share " + pinFraction + ", I/O threads " + ioThreads + ", policy " + policy);
            }
        }

        /** A cache over {@code layout} read through {@code tier}, its hot set pinned (read now). */
        public ExpertCache open(ExpertLayout layout, Tier tier) {
            ExpertCache c = new ExpertCache(layout, tier, new DramTier(dramBudget), policy, ioThreads);
            c.predictions(predict);
            if (hot != null && pinFraction > 0) {
                try {
                    c.pin(hot, (long) (dramBudget * pinFraction));
                } catch (RuntimeException e) {
                    c.close();
                    throw e;
                }
            }
            return c;
        }
    }

    /** The one {@link #mapped()} placement, so a model can tell it apart (checkpoints map their experts themselves). */
    final class Mapped {
        static final ExpertPlacement MAPPED = GgufExperts::new;

        private Mapped() {
        }
    }
}
