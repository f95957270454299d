package io.trillium.model;

import io.trillium.backend.ComputeBackend;
import io.trillium.backend.CpuBackend;
import io.trillium.gguf.GgufFile;
import io.trillium.gguf.TensorSource;
import io.trillium.moe.ExpertSource;
import io.trillium.quant.Numerics;
import io.trillium.safetensors.SafetensorsCheckpoint;
import io.trillium.tier.ExpertPlacement;
import io.trillium.tokenizer.Tokenizer;
import io.trillium.tokenizer.Tokenizers;

import java.io.IOException;
import java.nio.file.Path;

/** Opens a model file and builds the forward pass of its architecture. */
public final class Models {
    private Models() {
    }

    /**
     * Loads {@code file} (the first file of a split set opens all parts) on a CPU backend with all
     * processors and the default numerics ({@link Numerics#QUANTIZED}, llama.cpp's).
     */
    public static LanguageModel load(Path file) throws IOException {
        return load(file, new CpuBackend());
    }

    /** Loads {@code file} on a CPU backend with all processors computing with {@code numerics}. */
    public static LanguageModel load(Path file, Numerics numerics) throws IOException {
        return load(file, new CpuBackend(Runtime.getRuntime().availableProcessors(), numerics));
    }

    /** Loads {@code file} on {@code backend}; the model closes the backend when it is closed. */
    public static LanguageModel load(Path file, ComputeBackend backend) throws IOException {
        return load(file, backend, ExpertPlacement.mapped());
    }

    /**
     * Loads {@code file} on {@code backend} with the routed experts where {@code placement} puts them
     * (e.g. {@link ExpertPlacement#cached} behind a DRAM budget); the model closes the backend and
     * the expert source when it is closed.
     */
    public static LanguageModel load(Path file, ComputeBackend backend, ExpertPlacement placement) throws IOException {
        return load(file, backend, placement, ForwardOptions.DEFAULT);
    }

    /** As {@link #load(Path, ComputeBackend, ExpertPlacement)}, with the forward pass as {@code options} says. */
    public static LanguageModel load(Path file, ComputeBackend backend, ExpertPlacement placement,
                                     ForwardOptions options) throws IOException {
        java.util.Objects.requireNonNull(options, "options");
        if (SafetensorsCheckpoint.isCheckpoint(file)) {
            return loadCheckpoint(file, backend, placement, options);
        }
        GgufFile gguf = GgufFile.open(file);
        try {
            ModelConfig cfg = ModelConfig.fromGguf(gguf.metadata());
            Tokenizer tok = Tokenizers.fromGguf(gguf.metadata());
            return cfg.isMla() ? DeepseekModel.create(gguf, cfg, tok, backend, placement, options)
                    : LlamaModel.create(gguf, cfg, tok, backend, placement, options);
        } catch (RuntimeException | Error e) {
            gguf.close();
            backend.close();
            throw e;
        }
    }

    /**
     * Loads a Hugging Face checkpoint directory as it is (safetensors, INT4 or FP8 weights included):
     * {@code config.json}, the weights, and the tiktoken tokenizer ({@code tiktoken.model} +
     * {@code tokenizer_config.json}). Its experts are mapped in place, or read where {@code placement} says
     * (an expert cache over NVMe, PMem in place) through {@link CheckpointWeights#layout}.
     */
    static LanguageModel loadCheckpoint(Path path, ComputeBackend backend, ExpertPlacement placement,
                                        ForwardOptions options) throws IOException {
        CheckpointWeights w = null;
        try {
            Path dir = java.nio.file.Files.isDirectory(path) ? path : path.toAbsolutePath().getParent();
            ModelConfig cfg = CheckpointConfig.read(dir);
            boolean mixtral = CheckpointConfig.textConfig(dir.resolve("config.json")).path("model_type").asText("")
                    .equals("mixtral");
            w = CheckpointWeights.of(SafetensorsCheckpoint.open(path), mixtral, CheckpointConfig.ropeFreqFactors(dir, cfg));
            Tokenizer tok = Tokenizers.fromTiktokenDirectory(dir);
            return cfg.isMla() ? DeepseekModel.create(w, cfg, tok, backend, placement, options)
                    : LlamaModel.create(w, cfg, tok, backend, placement, options);
        } catch (RuntimeException | Error | IOException e) {
            if (w != null) {
                w.close();
            }
            backend.close();
            throw e;
        }
    }

    /** The routed experts of {@code weights} where {@code placement} puts them (a checkpoint maps its own). */
    static ExpertSource experts(TensorSource weights, ExpertPlacement placement, boolean[] isMoe, int experts) {
        return switch (weights) {
            case GgufFile g -> placement.source(g, isMoe, experts);
            case CheckpointWeights c -> placement == ExpertPlacement.mapped() ? c.experts(isMoe, experts)
                    : placement.source(c.layout(isMoe, experts));   // one entry per matrix, scales beside
            default -> throw new IllegalArgumentException("no expert source for " + weights);
        };
    }

    /** Weight bytes every decoded token reads besides its routed experts. */
    static long alwaysActiveBytes(TensorSource weights, ModelConfig cfg) {
        return switch (weights) {
            case GgufFile g -> WeightBytes.of(g, cfg).alwaysActivePerToken(cfg);
            case CheckpointWeights c -> c.alwaysActiveBytes(cfg);
            default -> 0;
        };
    }
}
