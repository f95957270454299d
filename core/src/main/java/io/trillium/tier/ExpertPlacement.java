package io.trillium.tier;

import io.trillium.gguf.GgufFile;
import io.trillium.moe.ExpertSource;
import io.trillium.moe.GgufExperts;

/** Where a model's routed experts are read from; the model builds its {@link ExpertSource} with it. */
@FunctionalInterface
public interface ExpertPlacement {
    /** The experts of the MoE layers ({@code isMoe[l]}) of {@code gguf}. */
    ExpertSource source(GgufFile gguf, boolean[] isMoe, int experts);

    /** Today's default: every expert read in place from the mapped file. */
    static ExpertPlacement mapped() {
        return GgufExperts::new;
    }

    /** Experts cached in {@code dramBudget} bytes of DRAM, read on a miss from {@code tier}. */
    static ExpertPlacement cached(Tier tier, long dramBudget) {
        return (gguf, isMoe, experts) -> new ExpertCache(gguf, isMoe, experts, tier, new DramTier(dramBudget));
    }
}
