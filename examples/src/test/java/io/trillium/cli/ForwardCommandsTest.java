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

    static final Path DS2_Q8 = Fixtures.models().resolve("ds2-tiny-Q8_0.gguf");

    /** --prompt-ids feeds the ids as they are: the golden's prompt_tokens give the same logits as its text. */
    @Test
    void promptIdsGiveTheLogitsOfTheTextTheyEncode() throws IOException {
        JsonNode c = goldenCase("ds2-tiny-Q8_0", "p2");
        Path byText = tmp.resolve("text.f32");
        Path byIds = tmp.resolve("ids.f32");
        Result r = run("logits", "--model", DS2_Q8.toString(), "--prompt", c.get("prompt").asText(),
                "--out", byText.toString(), "--threads", "2");
        assertEquals(0, r.rc(), r.err());
        r = run("logits", "--model", DS2_Q8.toString(), "--prompt-ids", ids(c.get("prompt_tokens")),
                "--out", byIds.toString(), "--threads", "2");
        assertEquals(0, r.rc(), r.err());
        assertTrue(r.out().startsWith(c.get("prompt_tokens").size() + " tokens"), r.out());
        assertArrayEquals(Fixtures.readF32(byText), Fixtures.readF32(byIds));

        // generate --greedy --ids with --prompt-ids: line 1 is exactly the ids given (no BOS added)
        String noBos = ids(c.get("prompt_tokens")).substring(ids(c.get("prompt_tokens")).indexOf(' ') + 1);
        r = run("generate", "--model", DS2_Q8.toString(), "--prompt-ids", noBos, "--max-tokens", "3",
                "--greedy", "--ids", "--threads", "2");
        assertEquals(0, r.rc(), r.err());
        assertEquals(noBos, r.out().lines().toList().get(0));
        assertEquals(3, r.out().lines().toList().get(1).split(" ").length);
    }

    @Test
    void promptAndPromptIdsAreExclusiveAndIdsAreChecked() {
        Result r = run("logits", "--model", DS2_Q8.toString(), "--prompt", "Hi", "--prompt-ids", "1 2",
                "--out", tmp.resolve("x.f32").toString());
        assertNotEquals(0, r.rc());
        assertTrue(r.err().contains("--prompt") && r.err().contains("mutually exclusive"), r.err());
        r = run("logits", "--model", DS2_Q8.toString(), "--out", tmp.resolve("x.f32").toString());
        assertNotEquals(0, r.rc());
        assertTrue(r.err().contains("--prompt"), r.err());
        r = run("logits", "--model", DS2_Q8.toString(), "--prompt-ids", "5 32256", "--out", tmp.resolve("x.f32").toString());
        assertEquals(1, r.rc());
        assertTrue(r.err().contains("id 32256 (position 1) is outside the model's vocabulary [0, 32256)"), r.err());
        r = run("generate", "--model", DS2_Q8.toString(), "--prompt-ids", "5 x", "--max-tokens", "2");
        assertEquals(1, r.rc());
        assertTrue(r.err().contains("'x' (position 1) is not a token id"), r.err());
        assertFalse(Files.exists(tmp.resolve("x.f32")), "nothing written on a rejected prompt");
    }

    /**
     * Default numerics are llama.cpp's (activations quantized), {@code --exact} the float reference's: on
     * ds2-tiny-Q8_0 p1 the exact logits match the float reference to 1e-3, and the default ones are
     * closer to llama.cpp's logits than the exact ones are.
     */
    @Test
    void exactFlagSelectsFloatActivations() throws IOException {
        JsonNode c = goldenCase("ds2-tiny-Q8_0", "p1");
        Path def = tmp.resolve("default.f32");
        Path exact = tmp.resolve("exact.f32");
        Result r = run("logits", "--model", DS2_Q8.toString(), "--prompt", c.get("prompt").asText(), "--out", def.toString());
        assertEquals(0, r.rc(), r.err());
        r = run("logits", "--model", DS2_Q8.toString(), "--prompt", c.get("prompt").asText(), "--out", exact.toString(), "--exact");
        assertEquals(0, r.rc(), r.err());
        float[] ref = Fixtures.readF32(Fixtures.models().resolve("ds2-tiny-Q8_0.p1.ref_last_logits.f32"));
        float[] cpp = Fixtures.readF32(Fixtures.models().resolve("ds2-tiny-Q8_0.p1.last_logits.f32"));
        float[] d = Fixtures.readF32(def);
        float[] e = Fixtures.readF32(exact);
        assertTrue(Fixtures.relL2(e, ref) <= 1e-3, "exact vs float reference " + Fixtures.relL2(e, ref));
        assertTrue(Fixtures.relL2(d, cpp) < Fixtures.relL2(e, cpp),
                "default " + Fixtures.relL2(d, cpp) + " vs exact " + Fixtures.relL2(e, cpp) + " from llama.cpp");
        r = run("logits", "--model", DS2_Q8.toString(), "--prompt", "Hi", "--out", tmp.resolve("y.f32").toString(),
                "--exact", "--q8-activations");
        assertEquals(1, r.rc());
        assertTrue(r.err().contains("--exact and --q8-activations"), r.err());
    }
}
