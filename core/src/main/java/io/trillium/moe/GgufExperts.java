package io.trillium.moe;

import io.trillium.gguf.GgufFile;
import io.trillium.quant.Tensor;

/**
 * Experts read in place from the stacked 3-D expert tensors of a GGUF file
 * ({@code blk.L.ffn_{gate,up,down}_exps.weight}, expert = last dim); views are made once.
 */
public final class GgufExperts implements ExpertSource {
    private final ExpertWeights[][] experts;

    /** Views of every expert of every MoE layer ({@code isMoe[l]}), each checked against {@code experts}. */
    public GgufExperts(GgufFile gguf, boolean[] isMoe, int experts) {
        this.experts = new ExpertWeights[isMoe.length][];
        for (int l = 0; l < isMoe.length; l++) {
            if (!isMoe[l]) {
                continue;
            }
            Tensor gate = stacked(gguf, l, "gate", experts);
            Tensor up = stacked(gguf, l, "up", experts);
            Tensor down = stacked(gguf, l, "down", experts);
            this.experts[l] = new ExpertWeights[experts];
            for (int e = 0; e < experts; e++) {
                this.experts[l][e] = new ExpertWeights(gate.expert(e), up.expert(e), down.expert(e));
            }
        }
    }

    private static Tensor stacked(GgufFile gguf, int layer, String which, int experts) {
        Tensor t = gguf.tensor("blk." + layer + ".ffn_" + which + "_exps.weight");
        if (t.rank() != 3 || t.dim(2) != experts) {
            throw new IllegalArgumentException(t + " in " + gguf.files().getFirst()
                    + ": expected 3 dims with " + experts + " experts last");
        }
        return t;
    }

    @Override
    public ExpertWeights expert(int layer, int expert) {
        return experts[layer][expert];
    }
}
