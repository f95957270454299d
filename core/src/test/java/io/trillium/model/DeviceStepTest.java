package io.trillium.model;

import io.trillium.backend.CpuBackend;
import io.trillium.backend.HostDevice;
import io.trillium.fixtures.Fixtures;
import io.trillium.quant.Numerics;
import io.trillium.tier.ExpertPlacement;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The MLA decode step with the always-active part on a {@link io.trillium.backend.Device} (as the GPU
 * backend runs it), on the reference device: the same logits as the host step at every position, the
 * device really used, its memory freed with the state, and the host step when a matrix does not fit.
 */
class DeviceStepTest {

    static float[][] run(LanguageModel m, int[] tokens) {
        float[][] out = new float[tokens.length][];
        try (LanguageModel.State s = m.newState(tokens.length + 2)) {
            for (int i = 0; i < tokens.length; i++) {
                out[i] = m.forward(s, new int[] {tokens[i]}).clone();
            }
        }
        return out;
    }

    @ParameterizedTest
    @ValueSource(strings = {"ds2-tiny-F32", "ds2-tiny-Q8_0", "ds2-tiny-Q4_K_M"})
    void deviceStepGivesTheHostLogits(String name) throws Exception {
        Path file = Fixtures.models().resolve(name + ".gguf");
        int[] tokens = {1, 7, 42, 3, 99, 5, 12, 8};
        float[][] want;
        try (LanguageModel m = Models.load(file, new CpuBackend(2, Numerics.EXACT))) {
            want = run(m, tokens);
        }
        HostDevice.Backend b = new HostDevice.Backend(2, t -> false);
        float[][] got;
        try (LanguageModel m = Models.load(file, b)) {
            int before = b.device.liveVectors();
            got = run(m, tokens);
            assertEquals(before, b.device.liveVectors(), "the state's device vectors are freed when it closes");
        }
        assertTrue(b.device.matVecs > 0, "the device step did not run");
        for (int i = 0; i < tokens.length; i++) {
            double rel = Fixtures.relL2(want[i], got[i]);
            assertTrue(rel <= 1e-5, name + " position " + i + ": rel-L2 " + rel);
            assertEquals(DeepseekGoldenTest.argmax(want[i]), DeepseekGoldenTest.argmax(got[i]), name + " position " + i);
        }
    }

    /** A prompt in one forward: the batched device prefill, experts on the host or streamed to the device. */
    @ParameterizedTest
    @ValueSource(strings = {"ds2-tiny-F32:host", "ds2-tiny-Q4_K_M:host", "ds2-tiny-Q8_0:stream", "ds2-tiny-Q4_K_M:stream"})
    void batchedPrefillGivesTheHostLogits(String spec) throws Exception {
        String name = spec.split(":")[0];
        boolean stream = spec.endsWith("stream");
        Path file = Fixtures.models().resolve(name + ".gguf");
        int[] prompt = {1, 7, 42, 3, 99, 5, 12, 8, 17, 23, 4};
        float[] want;
        float[] wantNext;
        try (LanguageModel m = Models.load(file, new CpuBackend(2, Numerics.EXACT)); LanguageModel.State s = m.newState(16)) {
            want = m.forward(s, prompt).clone();
            wantNext = m.forward(s, new int[] {9}).clone();
        }
        HostDevice.Backend b = new HostDevice.Backend(2, t -> false);
        ForwardOptions options = ForwardOptions.DEFAULT.withStreamExpertsFrom(stream ? 2 : Integer.MAX_VALUE);
        try (LanguageModel m = Models.load(file, b, ExpertPlacement.mapped(), options);
             LanguageModel.State s = m.newState(16)) {
            float[] got = m.forward(s, prompt).clone();
            assertTrue(b.device.matMuls > 0, "the batched prefill did not run");
            assertEquals(stream, b.device.staged > 0, "experts streamed to the device");
            assertTrue(Fixtures.relL2(want, got) <= 1e-5, name + ": rel-L2 " + Fixtures.relL2(want, got));
            assertEquals(prompt.length, s.position());
            float[] next = m.forward(s, new int[] {9});   // the decode step continues from the prefilled cache
            assertTrue(Fixtures.relL2(wantNext, next) <= 1e-5, name + " after prefill: rel-L2 "
                    + Fixtures.relL2(wantNext, next));
        }
    }

    /** The most chosen experts move to the device during decode and are computed there, same logits. */
    @Test
    void expertsKeptInVramGiveTheHostLogits() throws Exception {
        Path file = Fixtures.models().resolve("ds2-tiny-Q8_0.gguf");
        int[] tokens = {1, 7, 42, 3, 99, 5, 12, 8, 17, 23, 4, 61, 2};
        float[][] want;
        try (LanguageModel m = Models.load(file, new CpuBackend(2, Numerics.EXACT))) {
            want = run(m, tokens);
        }
        HostDevice.Backend b = new HostDevice.Backend(2, t -> false);
        try (LanguageModel m = Models.load(file, b, ExpertPlacement.mapped(),
                ForwardOptions.DEFAULT.withVramExpertsEvery(3))) {
            int weights = b.device.liveMatrices();
            b.device.setAvailable(6L << 20);   // room for some of the experts only
            float[][] got = run(m, tokens);
            for (int i = 0; i < tokens.length; i++) {
                double rel = Fixtures.relL2(want[i], got[i]);
                assertTrue(rel <= 1e-5, "position " + i + ": rel-L2 " + rel);
                assertEquals(DeepseekGoldenTest.argmax(want[i]), DeepseekGoldenTest.argmax(got[i]), "position " + i);
            }
            int held = b.device.liveMatrices() - weights;
            assertTrue(held > 0 && held % 3 == 0, "experts (gate, up, down) kept on the device: " + held);
            long computed = ((DeepseekModel) m).vramExpertsComputed();
            assertTrue(computed > 0, "experts computed from VRAM");
            long alwaysActive = m.bytesRead().get("vram") - computed * 3L * 256 * 256 * 34 / 32;
            assertEquals(0, alwaysActive % m.tokensForwarded(), "vram bytes = always-active per token + VRAM experts: "
                    + m.bytesRead());
            long perExpert = 3L * 256 * 256 * 34 / 32;   // ds2-tiny: three 256 x 256 Q8_0 matrices
            assertTrue(held / 3 * perExpert <= (6L << 20) / 2, "within half of the free VRAM: " + held / 3);

            // a new state that needs the room gets it: the experts are given back, then decode goes on
            b.device.setAvailable(0);
            try (LanguageModel.State s = m.newState(8)) {
                assertEquals(weights, b.device.liveMatrices(), "experts given back for the new state");
                m.forward(s, new int[] {1});
            }
        }
    }

    /**
     * On the CPU backend itself a prompt runs as one batch (each chosen expert read once for all of its
     * tokens, here from an NVMe-tier cache too): the token-by-token logits, exact and Q8 activations (these
     * bit for bit).
     */
    @ParameterizedTest
    @ValueSource(strings = {"ds2-tiny-F32:exact", "ds2-tiny-Q4_K_M:exact", "ds2-tiny-Q8_0:q8", "ds2-tiny-Q4_K_M:nvme"})
    void cpuPrefillReadsEachChosenExpertOncePerBatch(String spec) throws Exception {
        String name = spec.split(":")[0];
        boolean q8 = spec.endsWith("q8");
        Path file = Fixtures.models().resolve(name + ".gguf");
        int[] prompt = {1, 7, 42, 3, 99, 5, 12, 8, 17, 23, 4, 61, 2, 30};
        java.util.function.Supplier<io.trillium.tier.ExpertPlacement> placement = () -> spec.endsWith("nvme")
                ? io.trillium.tier.ExpertPlacement.cached(io.trillium.tier.NvmeTier::new, 3L << 20)
                : io.trillium.tier.ExpertPlacement.mapped();
        float[][] perToken = new float[1][];
        try (LanguageModel m = Models.load(file, new CpuBackend(2, q8 ? Numerics.QUANTIZED : Numerics.EXACT), placement.get());
             LanguageModel.State s = m.newState(prompt.length)) {
            for (int t : prompt) {
                perToken[0] = m.forward(s, new int[] {t}).clone();
            }
        }
        try (LanguageModel m = Models.load(file, new CpuBackend(2, q8 ? Numerics.QUANTIZED : Numerics.EXACT), placement.get());
             LanguageModel.State s = m.newState(prompt.length)) {
            float[] got = m.forward(s, prompt);
            double rel = Fixtures.relL2(perToken[0], got);
            assertTrue(rel <= 1e-5, spec + ": rel-L2 " + rel);
            if (q8) {   // llama.cpp's numerics: a token's result does not depend on the batch it is computed in
                for (int i = 0; i < got.length; i++) {
                    assertEquals(Float.floatToRawIntBits(perToken[0][i]), Float.floatToRawIntBits(got[i]),
                            spec + ": logit " + i + " of the prompt's last token, batched vs token by token");
                }
            }
            assertEquals(DeepseekGoldenTest.argmax(perToken[0]), DeepseekGoldenTest.argmax(got), spec);
            if (!spec.endsWith("nvme")) {   // mapped experts: bytes = each chosen expert once
                var stats = m.prefetcher().stats();
                long unique = 0;
                long expertBytes = 0;   // each distinct chosen expert once, at its layer's size (types vary by layer)
                long alwaysActive;
                try (io.trillium.gguf.GgufFile g = io.trillium.gguf.GgufFile.open(file)) {
                    ModelConfig cfg = ModelConfig.fromGguf(g.metadata());
                    alwaysActive = WeightBytes.of(g, cfg).alwaysActivePerToken(cfg);
                    for (int l = 0; l < stats.layers(); l++) {
                        if (!g.hasTensor("blk." + l + ".ffn_up_exps.weight")) {
                            continue;
                        }
                        long perExpert = 0;
                        for (String part : new String[] {"gate", "up", "down"}) {
                            perExpert += g.tensorInfo("blk." + l + ".ffn_" + part + "_exps.weight").byteSize();
                        }
                        perExpert /= cfg.experts();
                        for (int e = 0; e < stats.experts(); e++) {
                            if (stats.count(l, e) > 0) {
                                unique++;
                                expertBytes += perExpert;
                            }
                        }
                    }
                }
                assertEquals(prompt.length * alwaysActive + expertBytes, m.bytesRead().get("dram"),
                        m.bytesRead() + ", " + unique + " distinct experts chosen");
            }
        }
    }

    /**
     * A matrix the device has no room (or no kernel) for is computed on the host CPU inside the device step
     * and the device prefill: the host logits, the rest still on the device. A 2-D projection, MLA's per-head
     * k_b (its products per head, the prefill's heads token by token) and the output head (ds2-tiny ties it to token_embd).
     */
    @ParameterizedTest
    @ValueSource(strings = {"blk.1.attn_output.weight", "blk.0.attn_k_b.weight", "token_embd.weight"})
    void aMatrixWithoutRoomIsComputedOnTheHost(String refused) throws Exception {
        Path file = Fixtures.models().resolve("ds2-tiny-Q8_0.gguf");
        int[] tokens = {1, 7, 42, 3, 99, 5};
        int[] prompt = {1, 7, 42, 3, 99, 5, 12, 8, 17};
        float[][] want;
        float[] wantPrompt;
        try (LanguageModel m = Models.load(file, new CpuBackend(2, Numerics.EXACT))) {
            want = run(m, tokens);
            try (LanguageModel.State s = m.newState(16)) {
                wantPrompt = m.forward(s, prompt).clone();
            }
        }
        HostDevice.Backend b = new HostDevice.Backend(2, t -> t.name().equals(refused));
        try (LanguageModel m = Models.load(file, b)) {
            assertTrue(b.device.refused > 0, refused + " was never asked for");
            int before = b.device.liveVectors();
            float[][] got = run(m, tokens);
            assertTrue(b.device.matVecs > 0, "the device step did not run");
            for (int i = 0; i < tokens.length; i++) {
                double rel = Fixtures.relL2(want[i], got[i]);
                assertTrue(rel <= 1e-5, refused + " position " + i + ": rel-L2 " + rel);
            }
            try (LanguageModel.State s = m.newState(16)) {
                float[] gotPrompt = m.forward(s, prompt);
                assertTrue(b.device.matMuls > 0, "the batched prefill did not run");
                double rel = Fixtures.relL2(wantPrompt, gotPrompt);
                assertTrue(rel <= 1e-5, refused + " prompt: rel-L2 " + rel);
            }
            assertEquals(before, b.device.liveVectors(), "the states' device vectors are freed when they close");
        }
    }

    /** Without a host CPU backend beside the device, a matrix without room keeps the whole step on the host. */
    @Test
    void withoutAHostBackendAMatrixWithoutRoomKeepsTheHostStep() throws Exception {
        Path file = Fixtures.models().resolve("ds2-tiny-Q8_0.gguf");
        HostDevice.Backend b = new HostDevice.Backend(2, t -> t.name().equals("blk.1.attn_output.weight"), false);
        try (LanguageModel m = Models.load(file, b)) {
            assertEquals(0, b.device.liveVectors(), "norm vectors given back when the step stays on the host");
            run(m, new int[] {1, 2, 3});
            assertEquals(0, b.device.matVecs, "host step expected");
        }
    }

    /** Sessions decoding together on the device: one batched pass, each state's host logits. */
    @ParameterizedTest
    @ValueSource(strings = {"ds2-tiny-Q8_0", "ds2-tiny-Q4_K_M"})
    void sessionsTogetherOnTheDeviceGiveTheHostLogits(String name) throws Exception {
        Path file = Fixtures.models().resolve(name + ".gguf");
        int[][] prompts = {{1, 7, 42}, {3, 99}, {5, 12, 8, 17}};
        int[] next = {9, 40, 77};
        float[][] want = new float[3][];
        try (LanguageModel m = Models.load(file, new CpuBackend(2, Numerics.EXACT))) {
            for (int i = 0; i < 3; i++) {
                try (LanguageModel.State s = m.newState(16)) {
                    m.forward(s, prompts[i]);
                    want[i] = m.forward(s, new int[] {next[i]}).clone();
                }
            }
        }
        HostDevice.Backend b = new HostDevice.Backend(2, t -> false);
        try (LanguageModel m = Models.load(file, b, ExpertPlacement.mapped(), ForwardOptions.DEFAULT);
             LanguageModel.State s0 = m.newState(16); LanguageModel.State s1 = m.newState(16);
             LanguageModel.State s2 = m.newState(16)) {
            LanguageModel.State[] states = {s0, s1, s2};
            for (int i = 0; i < 3; i++) {
                m.forward(states[i], prompts[i]);
            }
            int before = b.device.matMuls;
            float[][] got = m.forwardEach(states, next);
            assertTrue(b.device.matMuls > before, "the sessions did not run as one batch");
            for (int i = 0; i < 3; i++) {
                double rel = Fixtures.relL2(want[i], got[i]);
                assertTrue(rel <= 1e-5, name + ": session " + i + ", rel-L2 " + rel);
                assertEquals(prompts[i].length + 1, states[i].position());
            }
        }
    }
}
