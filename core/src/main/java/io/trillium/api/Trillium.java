package io.trillium.api;

import io.trillium.backend.BackendProvider;
import io.trillium.backend.ComputeBackend;
import io.trillium.backend.CpuBackend;
import io.trillium.chat.ChatTemplate;
import io.trillium.chat.ChatTemplateException;
import io.trillium.chat.ChatTemplates;
import io.trillium.gguf.GgufFile;
import io.trillium.gguf.GgufFormatException;
import io.trillium.gguf.GgufMetadata;
import io.trillium.model.LanguageModel;
import io.trillium.model.ModelConfig;
import io.trillium.model.Models;
import io.trillium.model.WeightBytes;
import io.trillium.moe.ExpertStats;
import io.trillium.tier.ExpertCache;
import io.trillium.tier.ExpertPlacement;
import io.trillium.tier.MemoryLimits;
import io.trillium.tier.PmemTier;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Objects;

/**
 * Entry point: opens GGUF models.
 *
 * <pre>{@code
 * try (Model model = Trillium.load(path, LoadOptions.defaults());
 *      Session session = model.newSession()) {
 *     GenerationResult r = session.generate(GenerationRequest.builder().prompt("Hello").maxTokens(32).build());
 * }
 * }</pre>
 */
public final class Trillium {
    private Trillium() {
    }

    /**
     * Loads a model (the first file of a split set opens all parts).
     *
     * @throws ResourceException          the file cannot be read
     * @throws ModelFormatException       the file is not valid GGUF or lacks required metadata
     * @throws UnsupportedModelException  the architecture is not one Trillium runs
     */
    public static Model load(Path file, LoadOptions options) {
        Objects.requireNonNull(file, "file");
        Objects.requireNonNull(options, "options");
        if (io.trillium.safetensors.SafetensorsCheckpoint.isCheckpoint(file)) {
            return loadCheckpoint(file, options);
        }
        ModelInfo info;
        GgufMetadata metadata;
        long routed;
        long alwaysActive;
        try (GgufFile gguf = GgufFile.open(file)) {
            metadata = gguf.metadata();
            String arch = metadata.getString("general.architecture", "?");
            if (!ModelConfig.SUPPORTED.contains(arch)) {
                throw new UnsupportedModelException("unsupported architecture '" + arch + "' in " + file
                        + " (supported: " + ModelConfig.SUPPORTED + ")");
            }
            ModelConfig cfg = ModelConfig.fromGguf(metadata);
            info = ModelInfo.of(gguf, cfg);
            WeightBytes wb = WeightBytes.of(gguf, cfg);
            routed = wb.routedExperts();
            alwaysActive = wb.alwaysActivePerToken(cfg);
        } catch (GgufFormatException e) {
            throw new ModelFormatException("malformed model file " + file + ": " + e.getMessage(), e);
        } catch (IOException | UncheckedIOException e) {
            throw new ResourceException("cannot read model file " + file + ": " + e.getMessage(), e);
        }
        LanguageModel lm;
        try {
            lm = Models.load(file, backend(options),
                    expertPlacement(options, routed, alwaysActive), options.forward());
        } catch (GgufFormatException e) {
            throw new ModelFormatException("malformed model file " + file + ": " + e.getMessage(), e);
        } catch (IOException | UncheckedIOException e) {
            throw new ResourceException("cannot read model file " + file + ": " + e.getMessage(), e);
        }
        ChatTemplate template;
        try {
            template = ChatTemplates.forModel(metadata);
        } catch (ChatTemplateException | IllegalArgumentException e) {
            template = null;   // chat requests will report it
        }
        return new Model(lm, info, template, options);
    }

    /** A Hugging Face checkpoint directory (safetensors, INT4/FP8 as shipped): experts mapped in place. */
    private static Model loadCheckpoint(Path dir, LoadOptions options) {
        LanguageModel lm;
        ChatTemplate template;
        try {
            lm = Models.load(dir, backend(options),
                    expertPlacement(options, 0), options.forward());
            ModelConfig cfg = lm.config();
            try {
                template = ChatTemplates.forCheckpoint(java.nio.file.Files.isDirectory(dir) ? dir : dir.getParent(),
                        cfg.isMla() ? "kimi-k2" : cfg.arch().startsWith("qwen") ? "chatml" : "llama3");
            } catch (ChatTemplateException | IllegalArgumentException e) {
                template = null;   // chat requests will report it
            }
            ModelInfo info = new ModelInfo(cfg.arch(), 0, 0, cfg.experts(), cfg.expertsUsed(), cfg.contextLength(),
                    cfg.vocab(), java.util.Map.of("safetensors", 1), 0, 0);
            return new Model(lm, info, template, options);
        } catch (io.trillium.safetensors.SafetensorsFormatException e) {
            throw new ModelFormatException("malformed checkpoint " + dir + ": " + e.getMessage(), e);
        } catch (IOException | UncheckedIOException e) {
            throw new ResourceException("cannot read checkpoint " + dir + ": " + e.getMessage(), e);
        }
    }

    /**
     * The compute backend {@code options} ask for: the CPU, or an installed GPU backend
     * ({@link BackendProvider}) over it; {@link LoadOptions#GPU_AUTO} falls back to the CPU with the
     * reason logged, a device number fails with it.
     *
     * @throws ResourceException a GPU was asked for by number and cannot be used
     */
    public static ComputeBackend backend(LoadOptions options) {
        ComputeBackend cpu = new CpuBackend(options.threads(), options.numerics());
        if (options.gpu() == LoadOptions.GPU_OFF) {
            return cpu;
        }
        String why = "no GPU backend installed (add the trillium-cuda module)";
        for (BackendProvider p : BackendProvider.installed()) {
            String reason = p.unavailableReason();
            if (reason == null) {
                try {
                    return p.create(cpu, options.gpu() == LoadOptions.GPU_AUTO ? -1 : options.gpu(),
                            options.vramBudget());
                } catch (RuntimeException e) {
                    reason = e.getMessage();
                }
            }
            why = p.name() + ": " + reason;
        }
        if (options.gpu() >= 0) {
            cpu.close();
            throw new ResourceException("GPU " + options.gpu() + " cannot be used: " + why, null);
        }
        System.getLogger(Trillium.class.getName()).log(System.Logger.Level.INFO, "running on the CPU: {0}", why);
        return cpu;
    }

    /**
     * Where {@code options} put the routed experts ({@code routedExpertBytes} of them in the model):
     * mapped, PMem in place, or an NVMe-backed expert cache with the hot set of
     * {@link LoadOptions#hotExperts()} pinned in half the budget.
     *
     * @throws IllegalArgumentException the experts do not fit a DRAM budget given for the DRAM tier,
     *                                  or the options do not fit the tier
     * @throws ResourceException        the statistics file cannot be read
     */
    public static ExpertPlacement expertPlacement(LoadOptions options, long routedExpertBytes) {
        return expertPlacement(options, routedExpertBytes, 0);
    }

    /**
     * As {@link #expertPlacement(LoadOptions, long)}; {@code alwaysActiveBytes} sizes an
     * {@link LoadOptions#AUTO_BUDGET automatic} budget.
     */
    public static ExpertPlacement expertPlacement(LoadOptions requested, long routedExpertBytes, long alwaysActiveBytes) {
        LoadOptions options = requested;
        if (options.dramBudget() == LoadOptions.AUTO_BUDGET) {
            long budget;
            try {   // the JVM itself, 8 I/O bounce buffers, code cache, KV caches: 192 MiB (measured ~150)
                budget = MemoryLimits.autoBudget(alwaysActiveBytes, 192L << 20);
            } catch (IllegalStateException e) {
                throw new ResourceException(e.getMessage(), e);
            }
            System.getLogger(Trillium.class.getName()).log(System.Logger.Level.INFO,
                    "expert cache budget {0} MiB ({1})", budget >> 20, MemoryLimits.describe());
            options = new LoadOptions(options.threads(), options.numerics(), options.contextLength(),
                    options.expertTier(), budget, options.hotExperts(), options.strictDax(), options.cachePolicy(),
                    options.predictExperts(), options.gpu(), options.vramBudget(), options.forward());
        }
        return placement(options, routedExpertBytes);
    }

    private static ExpertPlacement placement(LoadOptions options, long routedExpertBytes) {
        return switch (options.expertTier()) {
            case DRAM -> {
                if (options.dramBudget() > 0 && routedExpertBytes > options.dramBudget()) {
                    throw new IllegalArgumentException("the routed experts need " + routedExpertBytes
                            + " bytes of DRAM, more than the budget of " + options.dramBudget()
                            + " bytes: read them from a slow tier (expert tier nvme or pmem)");
                }
                if (options.hotExperts() != null) {
                    throw new IllegalArgumentException("pinning hot experts needs the NVMe tier's cache; "
                            + "with the DRAM tier every expert is in DRAM already");
                }
                yield ExpertPlacement.mapped();
            }
            case PMEM -> {
                if (options.hotExperts() != null) {
                    throw new IllegalArgumentException("pinning hot experts needs the NVMe tier's cache; "
                            + "the PMem tier computes on every expert in place");
                }
                yield ExpertPlacement.inPlace(() -> new PmemTier(options.strictDax()));
            }
            case NVME -> {
                ExpertStats hot = null;
                if (options.hotExperts() != null) {
                    try {
                        hot = ExpertStats.load(options.hotExperts());
                    } catch (IOException e) {
                        throw new ResourceException(e.getMessage(), e);
                    }
                }
                // the model's repacked expert file (`trillium repack`) is used when it lies beside it
                yield ExpertPlacement.nvme(new ExpertPlacement.CacheOptions(options.dramBudget(),
                        options.cachePolicy(), hot, hot != null ? 0.5 : 0, 8, options.predictExperts()));
            }
        };
    }
}
