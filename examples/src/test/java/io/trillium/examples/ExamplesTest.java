package io.trillium.examples;

import io.trillium.api.FinishReason;
import io.trillium.api.GenerationRequest;
import io.trillium.api.GenerationResult;
import io.trillium.api.LoadOptions;
import io.trillium.api.Model;
import io.trillium.api.Samplers;
import io.trillium.api.Session;
import io.trillium.api.Trillium;
import io.trillium.examples.CustomSamplerExample.DigitsOnly;
import io.trillium.examples.CustomSamplerExample.TypicalSampler;
import io.trillium.fixtures.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

class ExamplesTest {

    static Path model(String name) {
        return Fixtures.models().resolve(name);
    }

    /** Runs an example's main, returning what it printed. */
    static String runMain(java.util.function.Consumer<String[]> main, String... args) {
        PrintStream out = System.out;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(buf, true, StandardCharsets.UTF_8));
            main.accept(args);
        } finally {
            System.setOut(out);
        }
        return buf.toString(StandardCharsets.UTF_8);
    }

    @ParameterizedTest
    @ValueSource(strings = {"qwen3moe-tiny-F32.gguf", "ds2-tiny-F32.gguf"})
    void embedExampleChatsAndPrintsMetrics(String name) {
        String out = runMain(EmbedExample::main, model(name).toString());
        assertTrue(out.startsWith("model: "), out);
        assertTrue(out.contains("finish: "), out);
        assertTrue(out.contains("generated: "), out);
    }

    @ParameterizedTest
    @ValueSource(strings = {"qwen3moe-tiny-F32.gguf", "ds2-tiny-F32.gguf"})
    void customSamplerExamplePrintsDigits(String name) {
        String out = runMain(CustomSamplerExample::main, model(name).toString(), "Count:");
        String generated = out.strip().substring("Count:".length()).strip();
        assertFalse(generated.isEmpty(), out);
        assertTrue(generated.chars().allMatch(c -> c >= '0' && c <= '9'), out);
    }

    @ParameterizedTest
    @ValueSource(strings = {"qwen3moe-tiny-F32.gguf", "ds2-tiny-F32.gguf"})
    void digitsOnlyEmitsOnlyDigitTokens(String name) {
        try (Model model = Trillium.load(model(name), LoadOptions.defaults());
             Session session = model.newSession()) {
            DigitsOnly digits = new DigitsOnly(model.tokenizer());
            for (long seed = 0; seed < 3; seed++) {
                for (var sampler : java.util.List.of(new TypicalSampler(0.9), Samplers.temperature(1.5), Samplers.greedy())) {
                    session.reset();
                    GenerationResult r = session.generate(GenerationRequest.builder()
                            .prompt("Hello").logitsProcessor(digits).sampler(sampler)
                            .maxTokens(12).seed(seed).build());
                    assertEquals(FinishReason.LENGTH, r.finishReason());
                    assertEquals(12, r.ids().length);
                    for (int id : r.ids()) {
                        assertTrue(digits.allows(id), "token " + id);
                        assertTrue(DigitsOnly.isDigits(model.tokenizer().tokenBytes(id)), "token " + id);
                    }
                    assertTrue(r.text().chars().allMatch(c -> c >= '0' && c <= '9'), r.text());
                }
            }
        }
    }

    @Test
    void typicalSamplerIsReproducibleAndKeepsTheMostTypicalToken() {
        var ctx = new io.trillium.sample.SamplingContext() {
            final java.util.Random random = new java.util.Random(1);
            public int tokenCount() { return 0; }
            public int token(int i) { throw new IndexOutOfBoundsException(); }
            public int generatedCount() { return 0; }
            public java.util.random.RandomGenerator random() { return random; }
        };
        // a tiny p keeps a single candidate: the one whose surprisal is closest to the entropy
        float[] logits = {5f, 0f, 0f, 0f, 0f, Float.NEGATIVE_INFINITY};
        int id = new TypicalSampler(1e-9).sample(logits.clone(), ctx);
        assertTrue(id >= 0 && id < 5);
        for (int i = 0; i < 100; i++) {
            assertNotEquals(5, new TypicalSampler(1.0).sample(logits.clone(), ctx));
        }
    }
}
