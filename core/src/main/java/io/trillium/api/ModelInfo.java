package io.trillium.api;

import io.trillium.gguf.GgufFile;
import io.trillium.gguf.GgufTensorInfo;
import io.trillium.model.ModelConfig;
import io.trillium.model.WeightBytes;

import java.util.Map;
import java.util.TreeMap;

/**
 * What a loaded model is. Parameter and byte counts come from the tensors: "active" counts what one
 * decoded token reads, i.e. {@code expertsUsed} of {@code experts} routed experts and one row of the
 * token embedding (plus the whole embedding matrix when the output projection is tied to it).
 *
 * @param architecture      {@code general.architecture}, e.g. {@code deepseek2}
 * @param totalParameters   elements of all tensors
 * @param activeParameters  elements one token reads
 * @param experts           routed experts per MoE layer (0 for a dense model)
 * @param expertsUsed       routed experts used per token
 * @param contextLength     the model's trained context length
 * @param vocabularySize    token ids
 * @param tensorTypes       tensor type name (e.g. {@code Q4_K}) → number of tensors
 * @param totalBytes        bytes of all tensors
 * @param activeBytes       bytes one token reads
 */
public record ModelInfo(String architecture, long totalParameters, long activeParameters, int experts, int expertsUsed,
                        int contextLength, int vocabularySize, Map<String, Integer> tensorTypes,
                        long totalBytes, long activeBytes) {
    /** Copies the map. */
    public ModelInfo {
        tensorTypes = Map.copyOf(tensorTypes);
    }

    static ModelInfo of(GgufFile gguf, ModelConfig cfg) {
        long total = 0;
        long active = 0;
        boolean tied = !gguf.hasTensor("output.weight");
        Map<String, Integer> types = new TreeMap<>();
        for (GgufTensorInfo t : gguf.tensors()) {
            long n = t.elementCount();
            total += n;
            types.merge(t.type().name(), 1, Integer::sum);
            if (t.name().contains("_exps.") && t.rank() == 3 && cfg.experts() > 0) {
                active += n / t.dim(2) * cfg.expertsUsed();
            } else if (t.name().equals("token_embd.weight")) {
                active += t.dim(0) + (tied ? n : 0);
            } else {
                active += n;
            }
        }
        WeightBytes bytes = WeightBytes.of(gguf, cfg);
        return new ModelInfo(cfg.arch(), total, active, cfg.experts(), cfg.expertsUsed(), cfg.contextLength(),
                cfg.vocab(), types, bytes.total(), bytes.activePerToken());
    }
}
