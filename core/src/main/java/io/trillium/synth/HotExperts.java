package io.trillium.synth;

import io.trillium.moe.Router;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Skewed expert popularity for a synthesized model, made of weights the forward pass already reads:
 * with sigmoid gating (deepseek2) the hot experts' selection bias {@code exp_probs_b} is raised by
 * {@link #lift()}; with softmax gating their router rows of {@code ffn_gate_inp} are scaled by it
 * (heavier-tailed logits win the top-k more often). The lift is calibrated by simulating the
 * {@link Router} on logits drawn as the synthesized model makes them: given a normed hidden state,
 * a router row of N(0, 1/hidden) gives each expert an independent N(0, ≈1) logit.
 *
 * <p>Which experts are hot is drawn per layer from the spec seed; nothing else in the file changes,
 * and a spec without hot experts draws exactly the values it always did.
 *
 * @param hot  per layer, the sorted ids of its hot experts ({@code null} for dense layers)
 * @param bias true: {@code lift} is added to the selection bias; false: it scales router rows
 * @param lift the bias or scale
 */
public record HotExperts(int[][] hot, boolean bias, float lift) {
    private static final int SAMPLES = 4096;

    /** The hot sets and calibrated lift of {@code s} (which must have {@code hotExperts > 0}). */
    public static HotExperts of(SynthSpec s) {
        int[][] hot = new int[s.layers()][];
        int first = -1;
        for (int l = 0; l < s.layers(); l++) {
            if (s.arch().equals("deepseek2") ? l >= s.leadingDense() : s.experts() > 0) {
                hot[l] = draw(s, l);
                first = first < 0 ? l : first;
            }
        }
        boolean bias = s.arch().equals("deepseek2") && s.gatingFunc() == 2;
        // Without groups every hot set routes alike; with them one layer's spread over the groups stands for all.
        float lift = calibrate(s, hot[first], bias);
        return new HotExperts(hot, bias, lift);
    }

    /** {@code s.hotExperts()} distinct experts of {@code layer}: a partial shuffle seeded by the spec and layer. */
    static int[] draw(SynthSpec s, int layer) {
        int[] ids = new int[s.experts()];
        Arrays.setAll(ids, i -> i);
        SplittableRandom r = new SplittableRandom(ModelSynthesizer.tensorSeed(s.seed(), "blk." + layer + ".hot_experts"));
        for (int i = 0; i < s.hotExperts(); i++) {
            int j = i + r.nextInt(ids.length - i);
            int t = ids[i];
            ids[i] = ids[j];
            ids[j] = t;
        }
        int[] hot = Arrays.copyOf(ids, s.hotExperts());
        Arrays.sort(hot);
        return hot;
    }

    /** The smallest lift whose simulated hot share reaches {@code s.hotShare()} (bisection on common samples). */
    private static float calibrate(SynthSpec s, int[] hot, boolean bias) {
        int e = s.experts();
        float[][] logits = new float[SAMPLES][e];
        SplittableRandom r = new SplittableRandom(ModelSynthesizer.tensorSeed(s.seed(), "hot_experts.calibration"));
        for (float[] row : logits) {
            for (int i = 0; i < e; i++) {
                row[i] = (float) r.nextGaussian();
            }
        }
        Router router = new Router(e, s.used(), bias, false, 1, s.expertGroups() == 0 ? 1 : s.expertGroups(),
                s.expertGroupsUsed() == 0 ? 1 : s.expertGroupsUsed());
        // A bias of 1 beats any sigmoid difference; a scale of 16 leaves little but the hot experts' signs to
        // chance (much more and the softmax underflows to ties).
        float lo = bias ? 0 : 1;
        float hi = bias ? 1 : 16;
        double max = share(router, logits, hot, bias, hi);
        if (max < s.hotShare() - 0.005) {
            throw new IllegalArgumentException(String.format("%d hot experts can get at most %.3f of the choices "
                    + "with %s gating (asked %.3f)%s", hot.length, max, bias ? "sigmoid" : "softmax", s.hotShare(),
                    bias ? "" : "; sigmoid gating (deepseek2) raises their selection bias instead and reaches more"));
        }
        for (int i = 0; i < 30; i++) {
            float mid = (lo + hi) / 2;
            if (share(router, logits, hot, bias, mid) < s.hotShare()) {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        return hi;
    }

    /** Fraction of the routing choices over {@code logits} that go to {@code hot} with this lift. */
    private static double share(Router router, float[][] logits, int[] hot, boolean bias, float lift) {
        int e = logits[0].length;
        float[] b = bias ? new float[e] : null;
        float[] x = new float[e];
        boolean[] isHot = new boolean[e];
        for (int h : hot) {
            isHot[h] = true;
            if (bias) {
                b[h] = lift;
            }
        }
        int[] ids = new int[router.used()];
        float[] w = new float[router.used()];
        long n = 0;
        for (float[] row : logits) {
            for (int i = 0; i < e; i++) {
                x[i] = !bias && isHot[i] ? row[i] * lift : row[i];
            }
            router.route(x, b, ids, w);
            for (int id : ids) {
                n += isHot[id] ? 1 : 0;
            }
        }
        return (double) n / ((long) logits.length * ids.length);
    }

    /** Applies the skew to chunk {@code c} (rows of {@code rowsPerChunk}) of {@code t}'s values {@code v}. */
    void apply(SynthTensor t, long c, int rowsPerChunk, float[] v) {
        boolean router = t.init() == SynthTensor.Init.ROUTER;
        if (router == bias || !(router || t.init() == SynthTensor.Init.BIAS)) {
            return;   // the other mechanism's tensor, or not a routing tensor
        }
        int[] ids = hot[Integer.parseInt(t.name().split("\\.")[1])];
        int ne0 = Math.toIntExact(t.ne0());
        long first = c * rowsPerChunk;
        for (int id : ids) {
            if (bias) {
                v[id] += lift;   // exp_probs_b is one row of one value per expert
            } else if (id >= first && id < first + v.length / ne0) {
                int at = (int) (id - first) * ne0;
                for (int i = at; i < at + ne0; i++) {
                    v[i] *= lift;
                }
            }
        }
    }
}
