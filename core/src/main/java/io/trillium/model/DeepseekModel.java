package io.trillium.model;

import io.trillium.backend.ComputeBackend;
import io.trillium.gguf.GgufFile;
import io.trillium.tokenizer.Tokenizer;

/** STUB: replaced by the real implementation. */
public final class DeepseekModel {
    private DeepseekModel() {
    }

    public static LanguageModel create(GgufFile gguf, ModelConfig cfg, Tokenizer tokenizer, ComputeBackend backend) {
        throw new UnsupportedOperationException("TODO: " + cfg.arch());
    }
}
