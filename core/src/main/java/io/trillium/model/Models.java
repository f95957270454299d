package io.trillium.model;

import io.trillium.backend.ComputeBackend;
import io.trillium.backend.CpuBackend;
import io.trillium.gguf.GgufFile;
import io.trillium.tier.ExpertPlacement;
import io.trillium.tokenizer.Tokenizer;
import io.trillium.tokenizer.Tokenizers;

import java.io.IOException;
import java.nio.file.Path;

/** Opens a model file and builds the forward pass of its architecture. */
public final class Models {
    private Models() {
    }

    /** Loads {@code file} (the first file of a split set opens all parts) on a CPU backend with all processors. */
    public static LanguageModel load(Path file) throws IOException {
        return load(file, new CpuBackend());
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
        GgufFile gguf = GgufFile.open(file);
        try {
            ModelConfig cfg = ModelConfig.fromGguf(gguf.metadata());
            Tokenizer tok = Tokenizers.fromGguf(gguf.metadata());
            return cfg.isMla() ? DeepseekModel.create(gguf, cfg, tok, backend, placement)
                    : LlamaModel.create(gguf, cfg, tok, backend, placement);
        } catch (RuntimeException | Error e) {
            gguf.close();
            backend.close();
            throw e;
        }
    }
}
