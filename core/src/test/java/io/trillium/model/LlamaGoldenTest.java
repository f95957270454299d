package io.trillium.model;

import io.trillium.quant.Numerics;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.trillium.backend.CpuBackend;
import io.trillium.fixtures.Fixtures;
import io.trillium.gguf.GgufFormatException;
import io.trillium.gguf.GgufMetadata;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** llama-tiny and qwen3moe-tiny (F32) against llama.cpp's goldens (fixtures README 2.2, 2.3, 3). */
class LlamaGoldenTest {
    static final List<String> MODELS = List.of("llama-tiny-F32", "qwen3moe-tiny-F32");
    static final Map<String, LanguageModel> LOADED = new HashMap<>();

    @BeforeAll
    static void load() throws IOException {
        for (String m : MODELS) {
            LOADED.put(m, Models.load(Fixtures.models().resolve(m + ".gguf"), new CpuBackend(2, Numerics.EXACT)));
        }
    }

    @AfterAll
    static void close() {
        LOADED.values().forEach(LanguageModel::close);
    }

    static JsonNode golden(String model) throws IOException {
        return new ObjectMapper().readTree(Fixtures.models().resolve(model + ".golden.json").toFile());
    }

    static List<Arguments> cases() throws IOException {
        List<Arguments> out = new ArrayList<>();
        for (String m : MODELS) {
            for (JsonNode c : golden(m).get("cases")) {
                out.add(Arguments.of(m, c.get("id").asText()));
            }
        }
        return out;
    }

    static JsonNode goldenCase(String model, String id) throws IOException {
        for (JsonNode c : golden(model).get("cases")) {
            if (c.get("id").asText().equals(id)) {
                return c;
            }
        }
        throw new AssertionError("no case " + id);
    }

    static int[] ints(JsonNode array) {
        int[] out = new int[array.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = array.get(i).asInt();
        }
        return out;
    }

    static double maxAbs(float[] a, float[] b) {
        double m = 0;
        for (int i = 0; i < b.length; i++) {
            m = Math.max(m, Math.abs((double) a[i] - b[i]));
        }
        return m;
    }

    /** Argmax, ties to the lowest id. */
    static int argmax(float[] x) {
        int best = 0;
        for (int i = 1; i < x.length; i++) {
            if (x[i] > x[best]) {
                best = i;
            }
        }
        return best;
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void promptTokensLogitsAndGreedyMatchLlamaCpp(String model, String id) throws IOException {
        LanguageModel lm = LOADED.get(model);
        JsonNode c = goldenCase(model, id);
        int[] prompt = lm.tokenizer().encode(c.get("prompt").asText(), true, false);
        assertArrayEquals(ints(c.get("prompt_tokens")), prompt, "prompt ids");

        LanguageModel.State state = lm.newState(512);
        float[] logits = lm.forward(state, prompt).clone();
        float[] expected = Fixtures.readF32(Fixtures.models().resolve(c.get("last_logits_file").asText()));
        assertEquals(expected.length, logits.length, "vocab");
        double rel = Fixtures.relL2(logits, expected);
        double max = maxAbs(logits, expected);
        System.out.printf("%s %s: last-position logits rel-L2 %.3e, max |d| %.3e%n", model, id, rel, max);
        assertTrue(rel <= 1e-4, model + " " + id + ": rel-L2 " + rel);

        int[] golden = ints(c.get("greedy_tokens"));
        int[] greedy = new int[golden.length];
        for (int i = 0; i < greedy.length; i++) {
            greedy[i] = argmax(logits);
            logits = lm.forward(state, new int[] {greedy[i]});   // EOS does not stop
        }
        assertArrayEquals(golden, greedy, model + " " + id + " greedy tokens");
        assertEquals(prompt.length + golden.length, state.position());
    }

    @Test
    void incrementalDecodeEqualsRecomputingTheWholeSequence() throws IOException {
        LanguageModel lm = LOADED.get("qwen3moe-tiny-F32");
        JsonNode c = goldenCase("qwen3moe-tiny-F32", "p2");
        int[] prompt = ints(c.get("prompt_tokens"));
        int[] greedy = ints(c.get("greedy_tokens"));
        int[] all = new int[prompt.length + 6];
        System.arraycopy(prompt, 0, all, 0, prompt.length);
        System.arraycopy(greedy, 0, all, prompt.length, 6);

        LanguageModel.State inc = lm.newState(64);
        lm.forward(inc, prompt);
        float[] incremental = null;
        for (int i = prompt.length; i < all.length; i++) {
            incremental = lm.forward(inc, new int[] {all[i]}).clone();
        }
        LanguageModel.State fresh = lm.newState(64);
        float[] whole = lm.forward(fresh, all);
        assertTrue(Fixtures.relL2(incremental, whole) <= 1e-5, "rel-L2 " + Fixtures.relL2(incremental, whole));

        // reset reuses the state: the same sequence again gives the same logits
        fresh.reset();
        assertEquals(0, fresh.position());
        assertArrayEquals(whole.clone(), lm.forward(fresh, all).clone());
    }

    @Test
    void attentionHeadsInParallelGiveTheSameLogits() throws IOException {
        // past 256 positions qwen3moe-tiny's heads are split over the pool; a missed head would show
        java.util.Random rnd = new java.util.Random(5);
        int[] ids = new int[320];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = rnd.nextInt(50257);
        }
        LanguageModel parallel = LOADED.get("qwen3moe-tiny-F32");
        try (LanguageModel serial = Models.load(Fixtures.models().resolve("qwen3moe-tiny-F32.gguf"), new CpuBackend(1, Numerics.EXACT))) {
            float[] a = serial.forward(serial.newState(ids.length), ids).clone();
            float[] b = parallel.forward(parallel.newState(ids.length), ids);
            // not bit-exact: the Vector API's reduceLanes order may differ between JIT tiers
            assertTrue(Fixtures.relL2(b, a) <= 1e-6, "rel-L2 " + Fixtures.relL2(b, a));
        }
    }

    @Test
    void contextOverflowIsAClearError() {
        LanguageModel lm = LOADED.get("llama-tiny-F32");
        LanguageModel.State s = lm.newState(8);
        lm.forward(s, new int[] {1, 2, 3, 4, 5});
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> lm.forward(s, new int[] {6, 7, 8, 9}));
        assertEquals("9 tokens exceed the context of 8", e.getMessage());
        assertEquals(5, s.position(), "a refused batch leaves the state as it was");
        assertThrows(IllegalArgumentException.class, () -> lm.forward(s, new int[] {32000}), "id out of range");
    }

    @Test
    void unsupportedArchitectureIsNamed() {
        GgufMetadata md = new GgufMetadata(Path.of("mamba.gguf"),
                Map.of("general.architecture", io.trillium.gguf.GgufValue.string("mamba")));
        GgufFormatException e = assertThrows(GgufFormatException.class, () -> ModelConfig.fromGguf(md));
        assertTrue(e.getMessage().contains("'mamba'"), e.getMessage());
    }
}
