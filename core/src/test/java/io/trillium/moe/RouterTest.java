package io.trillium.moe;

import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Comparator;
import java.util.Random;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.*;

class RouterTest {

    @Test
    void softmaxTopKRenormalisedMatchesFloat64() {
        Random rnd = new Random(42);
        int experts = 16;
        int k = 4;
        Router r = new Router(experts, k, false, true, 1f, 1, 1);
        for (int trial = 0; trial < 200; trial++) {
            float[] logits = new float[experts];
            for (int e = 0; e < experts; e++) {
                logits[e] = (float) (rnd.nextGaussian() * 3);
            }
            // by hand, in double
            double max = Double.NEGATIVE_INFINITY;
            for (float l : logits) {
                max = Math.max(max, l);
            }
            double[] p = new double[experts];
            double sum = 0;
            for (int e = 0; e < experts; e++) {
                p[e] = Math.exp(logits[e] - max);
                sum += p[e];
            }
            for (int e = 0; e < experts; e++) {
                p[e] /= sum;
            }
            int[] order = IntStream.range(0, experts).boxed()
                    .sorted(Comparator.comparingDouble((Integer e) -> -p[e])).mapToInt(Integer::intValue).toArray();
            double top = 0;
            for (int j = 0; j < k; j++) {
                top += p[order[j]];
            }

            int[] ids = new int[k];
            float[] w = new float[k];
            r.route(logits, null, ids, w);
            assertArrayEquals(Arrays.copyOf(order, k), ids, "best first");
            for (int j = 0; j < k; j++) {
                assertEquals(p[order[j]] / top, w[j], 1e-6, "weight " + j);
            }
        }
    }

    @Test
    void withoutRenormalisationTheWeightsAreTheProbabilities() {
        Router r = new Router(4, 2, false, false, 1f, 1, 1);
        float[] logits = {0f, 1f, 2f, 3f};
        int[] ids = new int[2];
        float[] w = new float[2];
        r.route(logits, null, ids, w);
        double z = 1 + Math.E + Math.exp(2) + Math.exp(3);
        assertArrayEquals(new int[] {3, 2}, ids);
        assertEquals(Math.exp(3) / z, w[0], 1e-6);
        assertEquals(Math.exp(2) / z, w[1], 1e-6);
    }

    @Test
    void tiesGoToTheLowerId() {
        Router r = new Router(4, 2, false, true, 1f, 1, 1);
        int[] ids = new int[2];
        float[] w = new float[2];
        r.route(new float[] {1f, 2f, 2f, 2f}, null, ids, w);
        assertArrayEquals(new int[] {1, 2}, ids);
        assertEquals(0.5f, w[0], 1e-7);
    }

    @Test
    void groupLimitedSelectionKeepsTheGroupsWithTheBestTwoScores() {
        // 8 experts in 4 groups of 2; keep 2 groups, choose 2 experts.
        Router r = new Router(8, 2, true, false, 1f, 4, 2);
        // sigmoid keeps the order; group sums: g0 = s(3)+s(-5), g1 = s(1)+s(1), g2 = s(2)+s(0.5), g3 = s(-1)+s(-1)
        float[] logits = {3f, -5f, 1f, 1f, 2f, 0.5f, -1f, -1f};
        double[] sig = new double[8];
        for (int e = 0; e < 8; e++) {
            sig[e] = 1 / (1 + Math.exp(-logits[e]));
        }
        // g1 (1.462) and g2 (1.503) beat g0 (0.953 + 0.007) though g0 holds the single best expert
        assertTrue(sig[2] + sig[3] > sig[0] + sig[1] && sig[4] + sig[5] > sig[0] + sig[1]);
        int[] ids = new int[2];
        float[] w = new float[2];
        r.route(logits, null, ids, w);
        assertArrayEquals(new int[] {4, 2}, ids, "expert 0 is masked with its group");
        assertEquals(sig[4], w[0], 1e-6);
        assertEquals(sig[2], w[1], 1e-6);
    }

    @Test
    void sigmoidBiasChoosesButTheWeightsAreUnbiased() {
        Router r = new Router(4, 2, true, false, 2.5f, 1, 1);
        float[] logits = {2f, 1f, 0f, -1f};
        float[] bias = {0f, 0f, 1f, 0f};   // lifts expert 2 above expert 0 for the choice only
        int[] ids = new int[2];
        float[] w = new float[2];
        r.route(logits, bias, ids, w);
        assertArrayEquals(new int[] {2, 0}, ids, "biased scores: 1.5, 0.88, 0.73, 0.27");
        assertEquals(2.5 / (1 + Math.exp(0)), w[0], 1e-6, "unbiased sigmoid(0), times the scale");
        assertEquals(2.5 / (1 + Math.exp(-2)), w[1], 1e-6);

        Router norm = new Router(4, 2, true, true, 1f, 1, 1);
        norm.route(logits, bias, ids, w);
        double s0 = 1 / (1 + Math.exp(0));
        double s2 = 1 / (1 + Math.exp(-2));
        assertEquals(s0 / (s0 + s2), w[0], 1e-6, "renormalised over the unbiased weights");
    }

    @Test
    void badSettingsAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> new Router(4, 5, false, true, 1f, 1, 1));
        assertThrows(IllegalArgumentException.class, () -> new Router(6, 2, false, true, 1f, 4, 2));
    }
}
