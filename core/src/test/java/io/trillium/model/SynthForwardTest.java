package io.trillium.model;

import io.trillium.backend.CpuBackend;
import io.trillium.fixtures.Fixtures;
import io.trillium.quant.GgmlType;
import io.trillium.quant.Numerics;
import io.trillium.synth.ModelSynthesizer;
import io.trillium.synth.SynthSpec;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Models written by {@code synth} in quantized types and shapes the fixtures do not cover (group-limited
 * routing, mixtral-style llama, K-quant and BF16 weights) load and run, and keep the forward pass's
 * properties: finite logits, the KV cache equal to recomputation, thread count not changing results.
 */
class SynthForwardTest {

    @TempDir
    Path dir;

    @ParameterizedTest(name = "{0} {1}")
    @CsvSource({"deepseek2, Q4_K", "qwen3moe, Q8_0", "llama, Q6_K", "llama, BF16"})
    void synthesizedModelsRun(String arch, String type) throws IOException {
        SynthSpec.Builder b = SynthSpec.builder(arch).hidden(256).layers(2).heads(4).vocab(600).ctx(64)
                .weightType(GgmlType.valueOf(type)).seed(5);
        switch (arch) {
            case "deepseek2" -> b.experts(8).used(2).expertFfn(256).ffn(512).leadingDense(1)
                    .expertGroups(4).expertGroupsUsed(2).kvLoraRank(256).qLoraRank(256).ropeDims(32).nopeDims(64).vDim(64);
            case "qwen3moe" -> b.kvHeads(2).headDim(64).experts(8).used(2).expertFfn(256);
            default -> b.kvHeads(2).ffn(512).experts(type.equals("BF16") ? 0 : 4).used(type.equals("BF16") ? 0 : 2);
        }
        Path file = dir.resolve(arch + "-" + type + ".gguf");
        new ModelSynthesizer(b.build()).write(file);

        int[] tokens = {5, 77, 300, 12, 599, 1};
        float[] incremental;
        float[] full;
        try (LanguageModel m = Models.load(file, new CpuBackend(1, Numerics.EXACT))) {
            LanguageModel.State s = m.newState(16);
            float[] last = null;
            for (int t : tokens) {
                last = m.forward(s, new int[] {t});
            }
            incremental = last.clone();
            full = m.forward(m.newState(16), tokens).clone();
        }
        float[] twoThreads;
        try (LanguageModel m = Models.load(file, new CpuBackend(2, Numerics.EXACT))) {
            twoThreads = m.forward(m.newState(16), tokens).clone();
        }
        for (float v : full) {
            assertTrue(Float.isFinite(v), "finite logits");
        }
        assertEquals(600, full.length);
        assertTrue(Fixtures.relL2(incremental, full) <= 1e-5, "KV cache vs recompute: " + Fixtures.relL2(incremental, full));
        assertTrue(Fixtures.relL2(twoThreads, full) <= 1e-5, "2 threads vs 1: " + Fixtures.relL2(twoThreads, full));
        assertTrue(norm(full) > 0, "non-trivial logits");
    }

    static double norm(float[] a) {
        double s = 0;
        for (float v : a) {
            s += v * (double) v;
        }
        return Math.sqrt(s);
    }
}
