package io.trillium.tier;

import io.trillium.gguf.GgufFile;
import io.trillium.moe.ExpertSource;
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

    /** Today's default: every expert read in place from the mapped file. */
    static ExpertPlacement mapped() {
        return GgufExperts::new;
    }

    /**
     * Experts cached in {@code dramBudget} bytes of DRAM, read on a miss from a tier made by
     * {@code tier} (e.g. {@code NvmeTier::new}); each model gets its own tier and closes it.
     */
    static ExpertPlacement cached(Supplier<? extends Tier> tier, long dramBudget) {
        return cached(tier, dramBudget, null);
    }

    /**
     * As {@link #cached(Supplier, long)}, reading the experts from {@code repacked} (a {@code trillium
     * repack} file of this model, checked against it: one read per expert) or, when null, from the GGUF.
     */
    static ExpertPlacement cached(Supplier<? extends Tier> tier, long dramBudget, Path repacked) {
        return (gguf, isMoe, experts) -> new ExpertCache(layout(gguf, isMoe, experts, repacked), tier.get(),
                new DramTier(dramBudget));
    }

    /**
     * Experts read with direct I/O ({@link NvmeTier}) into {@code dramBudget} bytes of DRAM, from the
     * model's repacked file {@code MODEL.experts} ({@link RepackedLayout#beside}) when there is one,
     * else from the GGUF. A repack file that does not match the model is an error, not skipped.
     */
    static ExpertPlacement nvme(long dramBudget) {
        return (gguf, isMoe, experts) -> {
            Path r = RepackedLayout.beside(gguf.files().getFirst());
            return cached(NvmeTier::new, dramBudget, Files.exists(r) ? r : null).source(gguf, isMoe, experts);
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
}
