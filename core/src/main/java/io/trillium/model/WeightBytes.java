package io.trillium.model;

import io.trillium.gguf.GgufFile;
import io.trillium.gguf.GgufTensorInfo;

import java.util.List;

/**
 * How many weight bytes a model holds and how many one decoded token must read: every tensor in
 * full, except the routed experts (only {@code expertsUsed} of each stacked {@code *_exps} tensor)
 * and the token embedding (one row). Decode speed is bounded by bandwidth / {@link #activePerToken}.
 *
 * @param total          bytes of all tensors
 * @param activePerToken bytes read per decoded token
 * @param routedExperts  bytes of all routed experts (the part a slow tier can hold)
 */
public record WeightBytes(long total, long activePerToken, long routedExperts) {

    /** Counts the tensors of {@code gguf} for the model configured by {@code cfg}. */
    public static WeightBytes of(GgufFile gguf, ModelConfig cfg) {
        return of(gguf.tensors(), cfg);
    }

    /** Counts {@code tensors} (a model's whole inventory) for the model configured by {@code cfg}. */
    public static WeightBytes of(List<GgufTensorInfo> tensors, ModelConfig cfg) {
        long total = 0;
        long active = 0;
        long routed = 0;
        boolean tied = tiedOutput(tensors);
        for (GgufTensorInfo t : tensors) {
            long b = t.byteSize();
            total += b;
            if (isRoutedExperts(t, cfg)) {
                routed += b;
                active += b / t.dim(2) * cfg.expertsUsed();
            } else {
                active += readPerToken(t, tied);
            }
        }
        return new WeightBytes(total, active, routed);
    }

    /** Bytes every decoded token reads besides its routed experts (the part that belongs on the fastest tier). */
    public long alwaysActivePerToken(ModelConfig cfg) {
        // each stacked tensor holds `experts` equal slices, so the routed share is exact in integers
        return cfg.experts() > 0 ? activePerToken - routedExperts / cfg.experts() * cfg.expertsUsed() : activePerToken;
    }

    /**
     * Weight bytes read by {@code tokens} tokens, by tier: the always-active part from DRAM ("dram",
     * the mapped model file) plus the routed experts by the tier {@code experts} says supplied them.
     */
    public static java.util.Map<String, Long> traffic(long alwaysActive, long tokens,
                                                      io.trillium.moe.ExpertSource experts) {
        java.util.Map<String, Long> m = new java.util.TreeMap<>();
        m.put("dram", alwaysActive * tokens);
        if (experts != null) {
            experts.bytesRead().forEach((tier, bytes) -> m.merge(tier, bytes, Long::sum));
        }
        return m;
    }

    /** Whether {@code t} is a stack of routed experts ({@code *_exps}, expert = dim 2), of which a token reads a few. */
    public static boolean isRoutedExperts(GgufTensorInfo t, ModelConfig cfg) {
        return t.name().contains("_exps.") && t.rank() == 3 && cfg.experts() > 0;
    }

    /** Whether the model has no {@code output.weight}, so the head reuses token_embd. */
    public static boolean tiedOutput(List<GgufTensorInfo> tensors) {
        return tensors.stream().noneMatch(t -> t.name().equals("output.weight"));
    }

    /**
     * Bytes one decoded token reads of a tensor that is not routed experts: all of it, except one
     * row of token_embd (all of it again when {@code tiedOutput}: it is then the output head too).
     */
    public static long readPerToken(GgufTensorInfo t, boolean tiedOutput) {
        long b = t.byteSize();
        if (!t.name().equals("token_embd.weight")) {
            return b;
        }
        long row = b / Math.max(1, t.elementCount() / t.dim(0));
        return tiedOutput ? row + b : row;
    }
}
