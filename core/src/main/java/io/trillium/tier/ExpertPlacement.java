package io.trillium.tier;

import io.trillium.gguf.GgufFile;
import io.trillium.moe.ExpertSource;
import io.trillium.moe.GgufExperts;

import java.util.function.Supplier;

/** Where a model's routed experts are read from; the model builds its {@link ExpertSource} with it. */
@FunctionalInterface
public interface ExpertPlacement {
    /** The experts of the MoE layers ({@code isMoe[l]}) of {@code gguf}. */
    ExpertSource source(GgufFile gguf, boolean[] isMoe, int experts);

    /** Today's default: every expert read in place from the mapped file. */
    static ExpertPlacement mapped() {
        return GgufExperts::new;
    }

    /**
     * Experts cached in {@code dramBudget} bytes of DRAM, read on a miss from a tier made by
     * {@code tier} (e.g. {@code NvmeTier::new}); each model gets its own tier and closes it.
     */
    static ExpertPlacement cached(Supplier<? extends Tier> tier, long dramBudget) {
        return (gguf, isMoe, experts) -> new ExpertCache(gguf, isMoe, experts, tier.get(), new DramTier(dramBudget));
    }
}
