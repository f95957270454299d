package io.trillium.plan;

import java.util.List;
import java.util.Map;

/**
 * Where a {@link PlacementPlanner} put every tensor and what one decoded token then reads from
 * each tier. The prediction is a bandwidth model: a token reads its bytes from each tier, and
 * {@link #secondsPerToken()} adds the tiers' read times (one after another, as a decode step that
 * waits for each layer's experts does); {@link #overlappedSecondsPerToken()} is the bound when all
 * tiers stream at once (the slowest tier's time). Compute and latency are not modelled.
 *
 * @param tiers         per tier, fastest first
 * @param tensors       tier name of every tensor that is not routed experts, by tensor name
 * @param experts       tier index (into {@code tiers}) of each routed expert, [layer][expert]; null rows for dense layers
 * @param expertsUsed   experts a token picks per MoE layer
 * @param fromStats     whether expert popularity came from statistics (else uniform: used / experts)
 * @param notes         remarks for people (fallbacks taken)
 */
public record Placement(List<Use> tiers, Map<String, String> tensors, int[][] experts, int expertsUsed,
                        boolean fromStats, List<String> notes) {

    /**
     * What one tier holds and serves.
     *
     * @param tier               the tier
     * @param reserved           bytes kept free for the KV cache and runtime
     * @param alwaysActiveBytes  bytes placed of tensors every token uses (embeddings, attention, norms, router, shared experts, dense FFNs, head)
     * @param expertBytes        bytes placed of routed experts
     * @param expertCount        routed experts placed (each = its gate, up and down slices)
     * @param alwaysActiveRead   bytes read per token of the always-active tensors (one row of token_embd)
     * @param expertRead         expected bytes read per token of routed experts: Σ P(chosen) · expert bytes
     */
    public record Use(TierSpec tier, long reserved, long alwaysActiveBytes, long expertBytes, int expertCount,
                      double alwaysActiveRead, double expertRead) {

        public long placedBytes() {
            return alwaysActiveBytes + expertBytes;
        }

        /** Expected bytes one token reads here. */
        public double readPerToken() {
            return alwaysActiveRead + expertRead;
        }

        /** Seconds one token spends reading here. */
        public double secondsPerToken() {
            return readPerToken() / tier.bandwidth();
        }
    }

    /** Expected bytes one token reads, all tiers. */
    public double readPerToken() {
        return tiers.stream().mapToDouble(Use::readPerToken).sum();
    }

    /** Serial model: the tiers' read times added. */
    public double secondsPerToken() {
        return tiers.stream().mapToDouble(Use::secondsPerToken).sum();
    }

    /** Overlap bound: all tiers read at once, the slowest one decides. */
    public double overlappedSecondsPerToken() {
        return tiers.stream().mapToDouble(Use::secondsPerToken).max().orElse(0);
    }

    public double tokensPerSecond() {
        return 1 / secondsPerToken();
    }

    public double overlappedTokensPerSecond() {
        return 1 / overlappedSecondsPerToken();
    }

    /** The tier whose reads take longest per token. */
    public Use bottleneck() {
        Use b = tiers.getFirst();
        for (Use u : tiers) {
            if (u.secondsPerToken() > b.secondsPerToken()) {
                b = u;
            }
        }
        return b;
    }

    /** The tier holding the tensor {@code name} (not routed experts). */
    public String tierOf(String tensor) {
        String t = tensors.get(tensor);
        if (t == null) {
            throw new IllegalArgumentException("no tensor '" + tensor + "' in the plan (routed experts are placed per expert)");
        }
        return t;
    }

    /** The tier holding routed expert {@code expert} of MoE layer {@code layer}. */
    public String tierOf(int layer, int expert) {
        if (layer < 0 || layer >= experts.length || experts[layer] == null) {
            throw new IllegalArgumentException("layer " + layer + " has no routed experts");
        }
        return tiers.get(experts[layer][expert]).tier().name();
    }
}
