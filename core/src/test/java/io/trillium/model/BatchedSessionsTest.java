package io.trillium.model;

import io.trillium.backend.CpuBackend;
import io.trillium.fixtures.Fixtures;
import io.trillium.quant.Numerics;
import io.trillium.tier.ExpertPlacement;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link LanguageModel#forwardEach}: sessions decoding together in one pass give, step for step, the logits
 * (bit for bit, default numerics) and greedy tokens each gives alone, with 1, 2, 4 and 8 sessions of different
 * prompt and output lengths that join at different steps and leave when done: deepseek2 (MLA) and the Llama
 * family (GQA, dense and MoE).
 */
class BatchedSessionsTest {

    @TempDir
    Path dir;

    /** What one session does: its prompt, how many tokens it generates, and the step at which it joins. */
    private record Plan(int[] prompt, int decode, int joins) {
    }

    private static List<Plan> plans(int sessions) {
        List<Plan> plans = new ArrayList<>();
        for (int i = 0; i < sessions; i++) {
            int[] prompt = new int[2 + (5 * i) % 7];
            for (int j = 0; j < prompt.length; j++) {
                prompt[j] = 1 + (37 * i + 11 * j) % 200;
            }
            plans.add(new Plan(prompt, 3 + (3 * i) % 5, i % 3));
        }
        return plans;
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"ds2-tiny-Q8_0", "ds2-tiny-Q4_K_M", "ds2-tiny-F32", "synth-deepseek2", "qwen3moe-tiny-F32",
            "llama-tiny-F32", "synth-qwen3moe"})
    void sessionsTogetherGiveTheirSoloLogitsBitForBit(String name) throws Exception {
        Path file = DecodeAllocationTest.model(dir, name);
        try (LanguageModel m = Models.load(file, new CpuBackend(2, Numerics.DEFAULT), ExpertPlacement.mapped(),
                ForwardOptions.DEFAULT)) {
            alone(m, plans(1).get(0));   // warm-up: code the JIT has not compiled yet may round differently
            for (int sessions : new int[] {1, 2, 4, 8}) {
                List<Plan> plans = plans(sessions);
                List<List<float[]>> solo = new ArrayList<>();
                for (Plan p : plans) {
                    solo.add(alone(m, p));
                }
                List<List<float[]>> together = together(m, plans);
                for (int i = 0; i < sessions; i++) {
                    assertEquals(solo.get(i).size(), together.get(i).size(), name + ": session " + i + " steps");
                    for (int step = 0; step < solo.get(i).size(); step++) {
                        float[] a = solo.get(i).get(step), b = together.get(i).get(step);
                        for (int v = 0; v < a.length; v++) {
                            assertEquals(Float.floatToRawIntBits(a[v]), Float.floatToRawIntBits(b[v]), name + ", "
                                    + sessions + " sessions: session " + i + ", step " + step + ", logit " + v);
                        }
                    }
                }
            }
        }
    }

    /** The plan's prompt, then greedy decoding one token per forward: the logits after the prompt and each token. */
    private static List<float[]> alone(LanguageModel m, Plan p) {
        List<float[]> out = new ArrayList<>();
        try (LanguageModel.State s = m.newState(32)) {
            float[] logits = m.forward(s, p.prompt()).clone();
            out.add(logits);
            for (int k = 0; k < p.decode(); k++) {
                logits = m.forward(s, new int[] {argmax(logits)}).clone();
                out.add(logits);
            }
        }
        return out;
    }

    /**
     * All plans at once: at each step the sessions that join now process their prompts, then every session that
     * is still decoding advances by one token in a single {@link LanguageModel#forwardEach}.
     */
    private static List<List<float[]>> together(LanguageModel m, List<Plan> plans) {
        int n = plans.size();
        List<List<float[]>> out = new ArrayList<>();
        LanguageModel.State[] states = new LanguageModel.State[n];
        int[] left = new int[n];
        int[] next = new int[n];
        try {
            for (int i = 0; i < n; i++) {
                out.add(new ArrayList<>());
                states[i] = m.newState(32);
            }
            boolean any = true;
            for (int step = 0; any; step++) {
                List<Integer> active = new ArrayList<>();
                any = false;
                for (int i = 0; i < n; i++) {
                    Plan p = plans.get(i);
                    if (p.joins() == step) {
                        float[] logits = m.forward(states[i], p.prompt()).clone();
                        out.get(i).add(logits);
                        next[i] = argmax(logits);
                        left[i] = p.decode();
                    } else if (p.joins() < step && left[i] > 0) {
                        active.add(i);
                    }
                    any |= p.joins() >= step || left[i] > 0;
                }
                if (active.isEmpty()) {
                    continue;
                }
                LanguageModel.State[] batch = new LanguageModel.State[active.size()];
                int[] tokens = new int[active.size()];
                for (int k = 0; k < batch.length; k++) {
                    batch[k] = states[active.get(k)];
                    tokens[k] = next[active.get(k)];
                }
                float[][] logits = m.forwardEach(batch, tokens);
                for (int k = 0; k < batch.length; k++) {
                    int i = active.get(k);
                    out.get(i).add(logits[k].clone());
                    next[i] = argmax(logits[k]);
                    left[i]--;
                }
            }
        } finally {
            for (LanguageModel.State s : states) {
                if (s != null) {
                    s.close();
                }
            }
        }
        return out;
    }

    @Test
    void badBatchesAreRefused() throws Exception {
        Path file = Fixtures.models().resolve("ds2-tiny-Q8_0.gguf");
        try (LanguageModel m = Models.load(file, new CpuBackend(1, Numerics.DEFAULT), ExpertPlacement.mapped(),
                ForwardOptions.DEFAULT);
             LanguageModel other = Models.load(file, new CpuBackend(1, Numerics.DEFAULT), ExpertPlacement.mapped(),
                     ForwardOptions.DEFAULT);
             LanguageModel.State a = m.newState(4); LanguageModel.State b = m.newState(1);
             LanguageModel.State foreign = other.newState(4)) {
            assertThrows(IllegalArgumentException.class, () -> m.forwardEach(new LanguageModel.State[] {a, a}, new int[] {1, 2}));
            assertThrows(IllegalArgumentException.class, () -> m.forwardEach(new LanguageModel.State[] {a, b}, new int[] {1}));
            assertThrows(IllegalArgumentException.class, () -> m.forwardEach(new LanguageModel.State[0], new int[0]));
            assertThrows(IllegalArgumentException.class,
                    () -> m.forwardEach(new LanguageModel.State[] {a, foreign}, new int[] {1, 2}));
            assertThrows(IllegalArgumentException.class,
                    () -> m.forwardEach(new LanguageModel.State[] {a, b}, new int[] {1, 1 << 30}));
            m.forward(b, new int[] {5});   // b is full now
            IllegalArgumentException full = assertThrows(IllegalArgumentException.class,
                    () -> m.forwardEach(new LanguageModel.State[] {a, b}, new int[] {1, 2}));
            assertTrue(full.getMessage().contains("exceed the context"), full.getMessage());
            assertEquals(0, a.position(), "a refused batch moved a state");
        }
    }

    private static int argmax(float[] v) {
        return DeepseekGoldenTest.argmax(v);
    }
}
