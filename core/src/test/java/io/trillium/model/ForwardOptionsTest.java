package io.trillium.model;

import io.trillium.backend.CpuBackend;
import io.trillium.fixtures.Fixtures;
import io.trillium.quant.Numerics;
import io.trillium.tier.ExpertPlacement;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** ForwardOptions: what it accepts, and that a prompt token by token gives the batched prompt's logits. */
class ForwardOptionsTest {

    @Test
    void checksItsValues() {
        assertThrows(IllegalArgumentException.class, () -> new ForwardOptions(true, -1, ForwardOptions.AUTO));
        assertThrows(IllegalArgumentException.class, () -> new ForwardOptions(true, 64, -5));
        assertEquals(64 / 8 * 32, ForwardOptions.DEFAULT.streamThreshold(64, 8));   // experts / used x 32
        assertEquals(7, ForwardOptions.DEFAULT.withStreamExpertsFrom(7).streamThreshold(64, 8));
        assertEquals(Integer.MAX_VALUE, ForwardOptions.DEFAULT.streamThreshold(0, 0));   // a dense model
        assertEquals(3, ForwardOptions.DEFAULT.withVramExpertsEvery(3).vramExpertsEvery());
    }

    /** deepseek2 (through the CPU device) and a Llama-family MoE (LlamaModel.prefill). */
    @ParameterizedTest
    @ValueSource(strings = {"ds2-tiny-Q8_0", "qwen3moe-tiny-F32"})
    void tokenByTokenPrefillGivesTheBatchedLogits(String name) throws Exception {
        Path file = Fixtures.models().resolve(name + ".gguf");
        int[] prompt = {1, 7, 42, 3, 99, 5, 12, 8, 17, 23, 4};
        float[] batched = logits(file, ForwardOptions.DEFAULT, prompt);
        float[] tokenByToken = logits(file, ForwardOptions.DEFAULT.withBatchedPrefill(false), prompt);
        double rel = Fixtures.relL2(tokenByToken, batched);
        assertTrue(rel <= 1e-5, name + ": rel-L2 " + rel);
    }

    private static float[] logits(Path file, ForwardOptions options, int[] prompt) throws Exception {
        try (LanguageModel m = Models.load(file, new CpuBackend(2, Numerics.EXACT), ExpertPlacement.mapped(), options);
             LanguageModel.State s = m.newState(16)) {
            return m.forward(s, prompt).clone();
        }
    }
}
