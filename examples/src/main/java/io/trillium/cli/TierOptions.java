package io.trillium.cli;

import io.trillium.api.LoadOptions;
import io.trillium.api.TierReport;
import io.trillium.api.Trillium;
import io.trillium.gguf.GgufFile;
import io.trillium.model.ForwardOptions;
import io.trillium.model.LanguageModel;
import io.trillium.model.ModelConfig;
import io.trillium.model.WeightBytes;
import io.trillium.tier.ExpertCache;
import io.trillium.tier.ExpertPlacement;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/** Where the routed experts live: the tier flags every forward-pass command shares. */
final class TierOptions {
    @Option(names = "--expert-tier", paramLabel = "TIER", defaultValue = "dram",
            description = "where the routed experts are read from: dram (the mapped file), pmem (computed on in "
                    + "place, DAX), nvme (direct I/O into a DRAM expert cache of --dram-budget) (default ${DEFAULT-VALUE})")
    String expertTier;

    @Option(names = "--dram-budget", paramLabel = "SIZE",
            description = "DRAM for cached experts, e.g. 512m, 8g, or auto: what the memory limit (RAM or the "
                    + "memory cgroup) leaves beside the always-active weights, heap and runtime (required with --expert-tier nvme)")
    String dramBudget;

    @Option(names = "--hot-experts", paramLabel = "STATS",
            description = "expert statistics from `trillium profile`: pin the most chosen experts in half the budget")
    Path hotExperts;

    @Option(names = "--cache-policy", paramLabel = "POLICY", defaultValue = "lfu",
            description = "eviction of unpinned cached experts: lru or lfu (default ${DEFAULT-VALUE})")
    String cachePolicy;

    @Option(names = "--predict-experts", description = "nvme: also prefetch the experts layer L+1's router predicts "
            + "from layer L's input (off by default: measured slower on this machine, see the README)")
    boolean predictExperts;

    @Option(names = "--strict-dax", description = "pmem: fail when the file is not on a DAX file system")
    boolean strictDax;

    @Option(names = "--gpu", paramLabel = "auto|off|N", defaultValue = "off",
            description = "run the always-active part on a GPU backend (the trillium-cuda module): auto (when one is "
                    + "installed and finds a device, else the CPU), off, or device N (an error if unusable) (default ${DEFAULT-VALUE})")
    String gpu;

    @Option(names = "--vram", paramLabel = "SIZE", description = "device memory for the GPU backend (default: free memory less a reserve)")
    String vram;

    @Option(names = "--stats", description = "print the tier metrics (bytes per token by tier, cache, prediction)")
    boolean stats;

    @Option(names = "--prefill", paramLabel = "batched|token", defaultValue = "batched",
            description = "a prompt on the CPU as batches (each weight read once per batch) or token by token as "
                    + "decode runs (to compare the two) (default ${DEFAULT-VALUE})")
    String prefill;

    @Option(names = "--stream-experts-from", paramLabel = "N",
            description = "with --gpu: prompt batches of at least N tokens stream their routed experts to the GPU "
                    + "(default: experts / used x 32)")
    Integer streamExpertsFrom;

    @Option(names = "--vram-experts-every", paramLabel = "N",
            description = "with --gpu: decode tokens between re-rankings of the routed experts kept in VRAM, 0: none "
                    + "kept there (default 64)")
    Integer vramExpertsEvery;

    /** How the forward pass runs, from --prefill, --stream-experts-from and --vram-experts-every. */
    ForwardOptions forward() {
        ForwardOptions f = ForwardOptions.DEFAULT.withBatchedPrefill(switch (prefill.toLowerCase(Locale.ROOT)) {
            case "batched" -> true;
            case "token" -> false;
            default -> throw new IllegalArgumentException("--prefill " + prefill + ": expected batched or token");
        });
        if (streamExpertsFrom != null) {
            if (streamExpertsFrom < 1) {
                throw new IllegalArgumentException("--stream-experts-from must be >= 1, got " + streamExpertsFrom);
            }
            f = f.withStreamExpertsFrom(streamExpertsFrom);
        }
        if (vramExpertsEvery != null) {
            if (vramExpertsEvery < 0) {
                throw new IllegalArgumentException("--vram-experts-every must be >= 0, got " + vramExpertsEvery);
            }
            f = f.withVramExpertsEvery(vramExpertsEvery);
        }
        return f;
    }

    /** The tier settings on top of {@code b}. */
    LoadOptions.Builder apply(LoadOptions.Builder b) {
        LoadOptions.ExpertTier tier = switch (expertTier.toLowerCase(Locale.ROOT)) {
            case "dram" -> LoadOptions.ExpertTier.DRAM;
            case "pmem" -> LoadOptions.ExpertTier.PMEM;
            case "nvme" -> LoadOptions.ExpertTier.NVME;
            default -> throw new IllegalArgumentException("--expert-tier " + expertTier + ": expected dram, pmem or nvme");
        };
        ExpertCache.Policy policy = switch (cachePolicy.toLowerCase(Locale.ROOT)) {
            case "lru" -> ExpertCache.Policy.LRU;
            case "lfu" -> ExpertCache.Policy.LFU;
            default -> throw new IllegalArgumentException("--cache-policy " + cachePolicy + ": expected lru or lfu");
        };
        if (tier == LoadOptions.ExpertTier.NVME && dramBudget == null) {
            throw new IllegalArgumentException("--expert-tier nvme needs --dram-budget SIZE (the expert cache)");
        }
        if (hotExperts != null && !Files.isRegularFile(hotExperts)) {
            throw new IllegalArgumentException("--hot-experts " + hotExperts + ": no such file");
        }
        long budget = dramBudget == null ? 0 : dramBudget.equalsIgnoreCase("auto") ? LoadOptions.AUTO_BUDGET
                : Sizes.bytes("--dram-budget", dramBudget);
        int device = switch (gpu.toLowerCase(Locale.ROOT)) {
            case "off" -> LoadOptions.GPU_OFF;
            case "auto" -> LoadOptions.GPU_AUTO;
            default -> {
                try {
                    int n = Integer.parseInt(gpu.strip());
                    if (n < 0) {
                        throw new NumberFormatException();
                    }
                    yield n;
                } catch (NumberFormatException e) {
                    throw new IllegalArgumentException("--gpu " + gpu + ": expected auto, off or a device number");
                }
            }
        };
        b.gpu(device).vramBudget(vram == null ? 0 : Sizes.bytes("--vram", vram));
        return b.expertTier(tier).dramBudget(budget).forward(forward())
                .hotExperts(hotExperts).strictDax(strictDax).cachePolicy(policy).predictExperts(predictExperts);
    }

    /** The compute backend: the CPU, or a GPU backend over it as {@code --gpu} says. */
    io.trillium.backend.ComputeBackend backend(int threads, io.trillium.quant.Numerics numerics) {
        return Trillium.backend(apply(LoadOptions.builder().threads(threads).numerics(numerics)).build());
    }

    /** Where these options put the experts of {@code model}. */
    ExpertPlacement placement(Path model, int threads) throws IOException {
        if (io.trillium.safetensors.SafetensorsCheckpoint.isCheckpoint(model)) {   // experts mapped in place
            return Trillium.expertPlacement(apply(LoadOptions.builder().threads(threads)).build(), 0);
        }
        WeightBytes wb;
        ModelConfig cfg;
        try (GgufFile g = GgufFile.open(model)) {
            cfg = ModelConfig.fromGguf(g.metadata());
            wb = WeightBytes.of(g, cfg);
        }
        return Trillium.expertPlacement(apply(LoadOptions.builder().threads(threads)).build(), wb.routedExperts(),
                wb.alwaysActivePerToken(cfg));
    }

    /** With {@code --stats}: the tier report of {@code m} to {@code out}. */
    void print(PrintStream out, LanguageModel m) {
        if (stats) {
            out.print(TierReport.of(m).format());
        }
    }
}
