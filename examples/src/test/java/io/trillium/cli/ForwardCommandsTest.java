package io.trillium.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.trillium.cli.CliTest.Result;
import io.trillium.fixtures.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static io.trillium.cli.CliTest.run;
import static org.junit.jupiter.api.Assertions.*;

class ForwardCommandsTest {
    static final Path LLAMA = Fixtures.models().resolve("llama-tiny-F32.gguf");
    static final Path QWEN = Fixtures.models().resolve("qwen3moe-tiny-F32.gguf");

    @TempDir
    Path tmp;

    static JsonNode goldenCase(String model, String id) throws IOException {
        JsonNode g = new ObjectMapper().readTree(Fixtures.models().resolve(model + ".golden.json").toFile());
        for (JsonNode c : g.get("cases")) {
            if (c.get("id").asText().equals(id)) {
                return c;
            }
        }
        throw new AssertionError("no case " + id);
    }

    static String ids(JsonNode array) {
        List<String> s = new ArrayList<>();
        array.forEach(n -> s.add(n.asText()));
        return String.join(" ", s);
    }

    @Test
    void logitsOfLlamaTinyP1MatchLlamaCpp() throws IOException {
        JsonNode c = goldenCase("llama-tiny-F32", "p1");
        Path out = tmp.resolve("p1.f32");
        Result r = run("logits", "--model", LLAMA.toString(), "--prompt", c.get("prompt").asText(),
                "--out", out.toString(), "--threads", "2");
        assertEquals(0, r.rc(), r.err());
        assertTrue(r.out().startsWith(c.get("prompt_tokens").size() + " tokens"), r.out());
        assertTrue(r.out().contains("argmax " + c.get("last_logits_argmax").asInt()), r.out());
        assertEquals(1, r.out().lines().count(), "one summary line");

        float[] got = Fixtures.readF32(out);
        float[] expected = Fixtures.readF32(Fixtures.models().resolve(c.get("last_logits_file").asText()));
        assertEquals(expected.length, got.length);
        double num = 0;
        double den = 0;
        for (int i = 0; i < got.length; i++) {
            num += Math.pow(got[i] - expected[i], 2);
            den += Math.pow(expected[i], 2);
        }
        double rel = Math.sqrt(num / den);
        System.out.printf("trillium logits llama-tiny p1: rel-L2 %.3e%n", rel);
        assertTrue(rel <= 1e-4, "rel-L2 " + rel);
    }

    @Test
    void logitsRefusesToOverwriteWithoutForce() throws IOException {
        Path out = tmp.resolve("exists.f32");
        Files.writeString(out, "keep");
        Result r = run("logits", "--model", LLAMA.toString(), "--prompt", "Hi", "--out", out.toString());
        assertEquals(1, r.rc());
        assertTrue(r.err().contains("--force"), r.err());
        assertEquals("keep", Files.readString(out));

        r = run("logits", "--model", LLAMA.toString(), "--prompt", "Hi", "--out", out.toString(), "--force");
        assertEquals(0, r.rc(), r.err());
        assertEquals(32000 * 4, Files.size(out));
    }

    @Test
    void generateGreedyIdsOnQwen3moeTinyP2PrintsTheGoldenIds() throws IOException {
        JsonNode c = goldenCase("qwen3moe-tiny-F32", "p2");
        Result r = run("generate", "--model", QWEN.toString(), "--prompt", c.get("prompt").asText(),
                "--max-tokens", "16", "--greedy", "--ids", "--threads", "2");
        assertEquals(0, r.rc(), r.err());
        List<String> lines = r.out().lines().toList();
        assertEquals(ids(c.get("prompt_tokens")), lines.get(0));
        assertEquals(ids(c.get("greedy_tokens")), lines.get(1));
    }

    @Test
    void generateStreamsTextGreedyOrSampled() {
        Result r = run("generate", "--model", LLAMA.toString(), "--prompt", "Once upon a time", "--max-tokens", "4");
        assertEquals(0, r.rc(), r.err());
        assertTrue(r.err().contains("decode:"), r.err());

        r = run("generate", "--model", LLAMA.toString(), "--prompt", "Once upon a time", "--max-tokens", "4", "--greedy");
        assertEquals(0, r.rc(), r.err());
        assertFalse(r.out().isBlank());
    }
}
