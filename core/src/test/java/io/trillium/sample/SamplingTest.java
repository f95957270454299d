package io.trillium.sample;

import io.trillium.api.SamplerChain;
import io.trillium.api.Samplers;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.*;

class SamplingTest {
    static final float NEG_INF = Float.NEGATIVE_INFINITY;
    static final int TRIALS = 500;

    /** Random logits with deliberate ties (values on a coarse grid half the time). */
    static float[] randomLogits(Random rnd, int n) {
        float[] l = new float[n];
        boolean coarse = rnd.nextBoolean();
        for (int i = 0; i < n; i++) l[i] = coarse ? rnd.nextInt(6) - 3 : (float) (rnd.nextGaussian() * 3);
        return l;
    }

    static float[] distinct(Random rnd, int n) {
        float[] l = new float[n];
        for (int i = 0; i < n; i++) l[i] = (i - n / 2) * 0.1f;
        for (int i = n - 1; i > 0; i--) { // shuffle
            int j = rnd.nextInt(i + 1);
            float x = l[i]; l[i] = l[j]; l[j] = x;
        }
        return l;
    }

    static double[] softmax(float[] l) {
        double max = Double.NEGATIVE_INFINITY;
        for (float v : l) max = Math.max(max, v);
        double[] p = new double[l.length];
        double s = 0;
        for (int i = 0; i < l.length; i++) s += p[i] = Math.exp(l[i] - max);
        for (int i = 0; i < l.length; i++) p[i] /= s;
        return p;
    }

    /** Ids ordered by descending logit, ties → ascending id (the reference ordering). */
    static Integer[] order(float[] l) {
        Integer[] ids = IntStream.range(0, l.length).boxed().toArray(Integer[]::new);
        Arrays.sort(ids, (a, b) -> l[a] != l[b] ? Float.compare(l[b], l[a]) : Integer.compare(a, b));
        return ids;
    }

    static int kept(float[] l) {
        int c = 0;
        for (float v : l) if (v != NEG_INF) c++;
        return c;
    }

    static float[] apply(LogitsProcessor p, float[] l) {
        float[] c = l.clone();
        p.process(c, TestContext.of(0));
        return c;
    }

    @Test
    void greedyTiesGoToLowestId() {
        assertEquals(1, Samplers.greedy().sample(new float[]{0, 5, 2, 5, 5}, TestContext.of(0)));
        assertEquals(0, Samplers.greedy().sample(new float[]{NEG_INF, NEG_INF}, TestContext.of(0)));
        Random rnd = new Random(1);
        for (int t = 0; t < TRIALS; t++) {
            float[] l = randomLogits(rnd, 1 + rnd.nextInt(50));
            assertEquals((int) order(l)[0], Samplers.greedy().sample(l.clone(), TestContext.of(t)));
        }
    }

    @Test
    void topKKeepsExactlyTheKBest() {
        Random rnd = new Random(2);
        for (int t = 0; t < TRIALS; t++) {
            int n = 1 + rnd.nextInt(60), k = 1 + rnd.nextInt(n + 3);
            float[] l = randomLogits(rnd, n);
            float[] out = apply(new TopK(k), l);
            Integer[] ord = order(l);
            for (int r = 0; r < n; r++) {
                int id = ord[r];
                if (r < Math.min(k, n)) assertEquals(l[id], out[id], "rank " + r + " must survive");
                else assertEquals(NEG_INF, out[id], "rank " + r + " must be masked");
            }
            // and the chain never emits a token outside the k best
            int tok = Samplers.topK(k).sample(l.clone(), TestContext.of(t));
            assertTrue(Arrays.asList(ord).indexOf(tok) < k);
        }
        assertArrayEquals(new float[]{1, 2}, apply(new TopK(0), new float[]{1, 2}));
        // larger vocabularies (sorted, reversed, constant, random, partly masked) exercise the quickselect
        for (int t = 0; t < 40; t++) {
            int n = 1000 + rnd.nextInt(4000), k = 1 + rnd.nextInt(200);
            float[] l = new float[n];
            for (int i = 0; i < n; i++) {
                l[i] = switch (t % 5) {
                    case 0 -> i;
                    case 1 -> -i;
                    case 2 -> 1f;
                    case 3 -> rnd.nextInt(10);
                    default -> rnd.nextInt(4) == 0 ? NEG_INF : (float) rnd.nextGaussian();
                };
            }
            float[] out = apply(new TopK(k), l);
            Integer[] ord = order(l);
            for (int r = 0; r < n; r++) assertEquals(r < k ? l[ord[r]] : NEG_INF, out[ord[r]]);
        }
    }

    @Test
    void topPKeepsTheSmallestSetReachingP() {
        Random rnd = new Random(3);
        for (int t = 0; t < TRIALS; t++) {
            int n = 1 + rnd.nextInt(60);
            double p = rnd.nextDouble();
            float[] l = randomLogits(rnd, n);
            float[] out = apply(new TopP(p), l);
            double[] prob = softmax(l);
            Integer[] ord = order(l);
            int m = kept(out);
            assertTrue(m >= 1);
            // kept = a prefix of the ordering, values untouched
            for (int r = 0; r < n; r++) {
                int id = ord[r];
                assertEquals(r < m ? l[id] : NEG_INF, out[id]);
            }
            double mass = 0, massBefore = 0;
            for (int r = 0; r < m; r++) {
                if (r == m - 1) massBefore = mass;
                mass += prob[ord[r]];
            }
            assertTrue(mass >= p - 1e-9, "mass " + mass + " < p " + p);
            assertTrue(m == 1 || massBefore < p + 1e-9, "one fewer token would already reach p");
        }
        assertEquals(1, kept(apply(new TopP(0), new float[]{1, 3, 2})));
        assertEquals(3, kept(apply(new TopP(1), new float[]{1, 3, 2})));
    }

    @Test
    void minPDropsBelowTheScaledMax() {
        Random rnd = new Random(4);
        for (int t = 0; t < TRIALS; t++) {
            int n = 1 + rnd.nextInt(60);
            double minP = rnd.nextDouble() * 0.5;
            float[] l = randomLogits(rnd, n);
            float[] out = apply(new MinP(minP), l);
            double[] prob = softmax(l);
            double pMax = Arrays.stream(prob).max().orElseThrow();
            for (int i = 0; i < n; i++) {
                double ratio = prob[i] / pMax;
                if (Math.abs(ratio - minP) < 1e-6) continue; // too close to the boundary to judge
                assertEquals(ratio < minP ? NEG_INF : l[i], out[i]);
            }
            assertTrue(kept(out) >= 1);
        }
    }

    @Test
    void temperatureScalesAndGoesGreedyAtZero() {
        assertArrayEquals(new float[]{2, -4}, apply(new Temperature(0.5f), new float[]{1, -2}));
        Random rnd = new Random(5);
        for (int t = 0; t < TRIALS; t++) {
            // T <= 0 must break ties like greedy; a tiny positive T is a limit, and tied maxima stay
            // equally likely there, so those trials use distinct logits (gaps of at least 0.1)
            boolean ties = t % 2 == 0;
            int n = 1 + rnd.nextInt(60);
            float[] l = ties ? randomLogits(rnd, n) : distinct(rnd, n);
            int greedy = Samplers.greedy().sample(l.clone(), TestContext.of(t));
            for (double temp : ties ? new double[]{0, -1} : new double[]{0, -1, 1e-6, 1e-30, 1e-45}) {
                assertEquals(greedy, Samplers.temperature(temp).sample(l.clone(), TestContext.of(t)), "T=" + temp);
                // the processor alone followed by a plain draw must also be greedy
                float[] c = apply(new Temperature((float) temp), l);
                assertEquals(greedy, Samplers.draw().sample(c, TestContext.of(t)), "T=" + temp + " + draw");
            }
        }
    }

    @Test
    void seededDrawIsReproducibleAndMatchesSoftmax() {
        float[] l = {1.0f, 0.0f, 2.5f, -1.0f, 0.5f, NEG_INF, 1.5f, -3.0f};
        double[] p = softmax(l);
        int draws = 200_000;
        TestContext a = TestContext.of(123), b = TestContext.of(123);
        long[] counts = new long[l.length];
        for (int i = 0; i < draws; i++) {
            int x = Samplers.draw().sample(l.clone(), a);
            assertEquals(x, Samplers.draw().sample(l.clone(), b));
            counts[x]++;
        }
        assertEquals(0, counts[5], "-inf must never be drawn");
        // chi-square with 6 degrees of freedom (7 live buckets); 99.99% quantile ≈ 27.9
        double chi2 = 0;
        for (int i = 0; i < l.length; i++) {
            if (p[i] == 0) continue;
            double e = draws * p[i];
            chi2 += (counts[i] - e) * (counts[i] - e) / e;
        }
        assertTrue(chi2 < 27.9, "chi2 = " + chi2 + " counts " + Arrays.toString(counts));
        // and a whole chain with filters is reproducible for a seed
        Sampler chain = Samplers.topP(0.9).topK(5).minP(0.01).temperature(0.7).repetitionPenalty(1.1);
        TestContext c1 = TestContext.of(9, 1, 2, 2), c2 = TestContext.of(9, 1, 2, 2);
        for (int i = 0; i < 1000; i++) assertEquals(chain.sample(l.clone(), c1), chain.sample(l.clone(), c2));
    }

    @Test
    void penaltiesMatchHandComputation() {
        float[] l = {2f, -1f, 0.5f, -2f, 3f};
        // window: the last 4 tokens of [4, 0, 1, 1, 2] = [0, 1, 1, 2]; token 4 falls outside
        int[] history = {4, 0, 1, 1, 2};
        float[] out = l.clone();
        Penalties.repetition(4, 2f).process(out, TestContext.of(0, history));
        assertArrayEquals(new float[]{1f, -2f, 0.25f, -2f, 3f}, out, 1e-6f);

        out = l.clone();
        Penalties.openAi(4, 0.5f, 0.25f).process(out, TestContext.of(0, history));
        // 0: count 1 → 2 - 0.25 - 0.5; 1: count 2 → -1 - 0.25 - 1; 2: count 1 → 0.5 - 0.75
        assertArrayEquals(new float[]{1.25f, -2.25f, -0.25f, -2f, 3f}, out, 1e-6f);

        out = l.clone();
        new Penalties(-1, 2f, 0.5f, 0.25f).process(out, TestContext.of(0, history));
        // whole sequence: token 4 too (3/2 - 0.75); repeat first, then presence/frequency
        assertArrayEquals(new float[]{1f - 0.75f, -2f - 1.25f, 0.25f - 0.75f, -2f, 1.5f - 0.75f}, out, 1e-6f);

        out = l.clone();
        new Penalties(0, 2f, 0.5f, 0.25f).process(out, TestContext.of(0, history));
        assertArrayEquals(l, out);

        // out-of-vocabulary history ids are ignored, and the shared scratch is left clean
        out = l.clone();
        Penalties.openAi(-1, 1f, 0f).process(out, TestContext.of(0, 99, -3, 0));
        assertArrayEquals(new float[]{1f, -1f, 0.5f, -2f, 3f}, out, 1e-6f);
        out = l.clone();
        Penalties.openAi(-1, 1f, 0f).process(out, TestContext.of(0, 0));
        assertArrayEquals(new float[]{1f, -1f, 0.5f, -2f, 3f}, out, 1e-6f);
    }

    @Test
    void logitBiasAddsAndBans() {
        float[] out = apply(new LogitBias(Map.of(0, 1.5f, 2, NEG_INF, 77, 5f)), new float[]{1, 2, 9, 3});
        assertArrayEquals(new float[]{2.5f, 2, NEG_INF, 3}, out);
        Random rnd = new Random(6);
        for (int t = 0; t < TRIALS; t++) {
            int n = 2 + rnd.nextInt(30);
            float[] l = randomLogits(rnd, n);
            int banned = Samplers.greedy().sample(l.clone(), TestContext.of(0)); // ban the favourite
            SamplerChain s = Samplers.builder().logitBias(banned, NEG_INF);
            TestContext ctx = TestContext.of(t);
            for (int i = 0; i < 50; i++) assertNotEquals(banned, s.sample(l.clone(), ctx));
            assertNotEquals(banned, s.temperature(0).sample(l.clone(), ctx));
        }
    }

    @Test
    void chainRunsInLlamaCppOrder() {
        SamplerChain c = Samplers.topP(0.95).temperature(0.6).minP(0.05).topK(40)
                .logitBias(3, -1f).repetitionPenalty(1.1).presencePenalty(0.5);
        List<Class<?>> kinds = c.processors().stream().<Class<?>>map(Object::getClass).toList();
        assertEquals(List.of(Penalties.class, LogitBias.class, TopK.class, TopP.class, MinP.class, Temperature.class), kinds);
        assertSame(Draw.INSTANCE, c.finalSampler());
        assertSame(Greedy.INSTANCE, c.temperature(0).finalSampler());
        assertEquals(List.of(), Samplers.builder().processors());
        assertEquals(Samplers.topP(0.95).temperature(0.6), Samplers.temperature(0.6).topP(0.95));
        assertNotEquals(Samplers.topP(0.95), Samplers.topP(0.9));

        // the building blocks composed by hand draw exactly like the chain
        Sampler manual = Samplers.chain(c.processors(), Samplers.draw());
        Random rnd = new Random(7);
        for (int t = 0; t < 200; t++) {
            float[] l = randomLogits(rnd, 50);
            int[] hist = rnd.ints(20, 0, 50).toArray();
            assertEquals(c.sample(l.clone(), TestContext.of(t, hist)), manual.sample(l.clone(), TestContext.of(t, hist)));
        }
    }
}
