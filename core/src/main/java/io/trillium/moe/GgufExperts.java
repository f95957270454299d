package io.trillium.moe;

import io.trillium.gguf.GgufFile;
import io.trillium.quant.Tensor;

/**
 * Experts read in place from the stacked 3-D expert tensors of a GGUF file
 * ({@code blk.L.ffn_{gate,up,down}_exps.weight}, expert = last dim); views are made once.
 */
public final class GgufExperts implements ExpertSource {
    private final ExpertWeights[][] experts;
    private final long[] expertBytes;   // per layer
    private final java.util.concurrent.atomic.AtomicLong delivered = new java.util.concurrent.atomic.AtomicLong();

    /** Views of every expert of every MoE layer ({@code isMoe[l]}), each checked against {@code experts}. */
    public GgufExperts(GgufFile gguf, boolean[] isMoe, int experts) {
        this.experts = new ExpertWeights[isMoe.length][];
        this.expertBytes = new long[isMoe.length];
        for (int l = 0; l < isMoe.length; l++) {
            if (!isMoe[l]) {
                continue;
            }
            Tensor gate = stacked(gguf, l, "gate", experts);
            Tensor up = stacked(gguf, l, "up", experts);
            Tensor down = stacked(gguf, l, "down", experts);
            this.experts[l] = new ExpertWeights[experts];
            expertBytes[l] = (gate.byteSize() + up.byteSize() + down.byteSize()) / experts;
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

    /** Views made at load: any number may be held at once. */
    @Override
    public boolean holdsAny() {
        return true;
    }

    @Override
    public ExpertWeights expert(int layer, int expert) {
        ExpertWeights w = experts[layer][expert];
        delivered.addAndGet(expertBytes[layer]);
        return w;
    }

    /** Bytes of the experts handed out, all from the mapped file ("dram": the page cache). */
    @Override
    public java.util.Map<String, Long> bytesRead() {
        return java.util.Map.of("dram", delivered.get());
    }
}
