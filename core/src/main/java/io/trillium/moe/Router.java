package io.trillium.moe;

/**
 * Chooses the experts of one token from the router logits, as llama.cpp's build_moe_ffn does:
 * scores by softmax or sigmoid; an optional selection bias that only affects the choice
 * (DeepSeek-V3's noaux_tc); group-limited top-k when there are expert groups; the weights are the
 * unbiased scores of the chosen experts, optionally renormalised, then scaled.
 */
public final class Router {
    private final int experts;
    private final int used;
    private final boolean sigmoid;
    private final boolean normalize;
    private final float scale;
    private final int groups;
    private final int groupsUsed;
    // scratch: one router per thread of decoding
    private final float[] probs;
    private final float[] select;
    private final float[] groupScore;

    public Router(Routing r) {
        this(r.experts(), r.used(), r.sigmoid(), r.normalize(), r.scale(), r.groups(), r.groupsUsed());
    }

    public Router(int experts, int used, boolean sigmoid, boolean normalize, float scale, int groups, int groupsUsed) {
        if (used < 1 || used > experts) {
            throw new IllegalArgumentException("experts used per token must be in 1.." + experts + ", got " + used);
        }
        if (groups < 1 || experts % groups != 0 || groupsUsed < 1 || groupsUsed > groups) {
            throw new IllegalArgumentException("bad expert groups: " + groups + " groups, " + groupsUsed
                    + " used, " + experts + " experts");
        }
        this.experts = experts;
        this.used = used;
        this.sigmoid = sigmoid;
        this.normalize = normalize;
        this.scale = scale;
        this.groups = groups;
        this.groupsUsed = groupsUsed;
        this.probs = new float[experts];
        this.select = new float[experts];
        this.groupScore = new float[groups];
    }

    /** Experts chosen per token. */
    public int used() {
        return used;
    }

    /**
     * Routes one token.
     *
     * @param logits  router output, one value per expert
     * @param bias    selection bias per expert, or {@code null}
     * @param ids     out: the chosen experts, best first
     * @param weights out: their weights
     */
    public void route(float[] logits, float[] bias, int[] ids, float[] weights) {
        if (sigmoid) {
            for (int e = 0; e < experts; e++) {
                probs[e] = (float) (1.0 / (1.0 + Math.exp(-logits[e])));
            }
        } else {
            float max = Float.NEGATIVE_INFINITY;
            for (int e = 0; e < experts; e++) {
                max = Math.max(max, logits[e]);
            }
            double sum = 0;
            for (int e = 0; e < experts; e++) {
                probs[e] = (float) Math.exp(logits[e] - max);
                sum += probs[e];
            }
            for (int e = 0; e < experts; e++) {
                probs[e] = (float) (probs[e] / sum);
            }
        }
        for (int e = 0; e < experts; e++) {
            select[e] = bias == null ? probs[e] : probs[e] + bias[e];
        }
        if (groups > 1) {
            limitGroups();
        }
        // top-k by selection score; ties go to the lower id
        for (int k = 0; k < used; k++) {
            int best = -1;
            for (int e = 0; e < experts; e++) {
                if (select[e] != Float.NEGATIVE_INFINITY && (best < 0 || select[e] > select[best])) {
                    best = e;
                }
            }
            ids[k] = best;
            weights[k] = probs[best];
            select[best] = Float.NEGATIVE_INFINITY;
        }
        if (normalize) {
            double sum = 0;
            for (int k = 0; k < used; k++) {
                sum += weights[k];
            }
            float inv = (float) (1.0 / Math.max(sum, 6.103515625e-5));   // llama.cpp clamps the sum
            for (int k = 0; k < used; k++) {
                weights[k] *= inv;
            }
        }
        if (scale != 1f) {
            for (int k = 0; k < used; k++) {
                weights[k] *= scale;
            }
        }
    }

    /** Keeps the {@code groupsUsed} groups with the largest sum of their two best scores; masks the rest. */
    private void limitGroups() {
        int per = experts / groups;
        for (int g = 0; g < groups; g++) {
            float a = Float.NEGATIVE_INFINITY;
            float b = Float.NEGATIVE_INFINITY;
            for (int e = g * per; e < (g + 1) * per; e++) {
                float v = select[e];
                if (v > a) {
                    b = a;
                    a = v;
                } else if (v > b) {
                    b = v;
                }
            }
            groupScore[g] = per > 1 ? a + b : a;
        }
        for (int drop = 0; drop < groups - groupsUsed; drop++) {
            int worst = -1;
            for (int g = 0; g < groups; g++) {
                if (groupScore[g] != Float.POSITIVE_INFINITY && (worst < 0 || groupScore[g] < groupScore[worst])) {
                    worst = g;
                }
            }
            groupScore[worst] = Float.POSITIVE_INFINITY;   // dropped
            for (int e = worst * per; e < (worst + 1) * per; e++) {
                select[e] = Float.NEGATIVE_INFINITY;
            }
        }
    }
}
