package io.trillium.cli;

import io.trillium.fixtures.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TemplateCommandTest {

    @TempDir
    Path tmp;

    static Path templates() {
        return Fixtures.fixtures().resolve("templates");
    }

    static String conversations() {
        return templates().resolve("expected/conversations.json").toString();
    }

    @ParameterizedTest
    @CsvSource({"Kimi-K2-Instruct, c3-tools", "Kimi-K2-Thinking, c2-multiturn-nosystem",
            "deepseek-ai-DeepSeek-V3.1, c3-tools", "meta-llama-Llama-3.1-8B-Instruct, c3-tools",
            "Qwen3-Coder, c4-no-generation-prompt"})
    void printsExactlyTheExpectedRendering(String template, String key) throws IOException {
        CliTest.Result r = CliTest.run("template", "--template", templates().resolve(template + ".jinja").toString(),
                "--conversation", conversations(), "--key", key);
        assertEquals(0, r.rc(), r.err());
        assertEquals(Files.readString(templates().resolve("expected/" + template + "." + key + ".txt")), r.out());
    }

    @Test
    void singleConversationNeedsNoKey() throws IOException {
        Path one = tmp.resolve("one.json");
        Files.writeString(one, "{\"only\": {\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}], "
                + "\"add_generation_prompt\": true}}");
        CliTest.Result r = CliTest.run("template", "--template", templates().resolve("Qwen-Qwen3-0.6B.jinja").toString(),
                "--conversation", one.toString());
        assertEquals(0, r.rc(), r.err());
        assertEquals("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n", r.out());
    }

    @Test
    void modelWithoutTemplateUsesTheBuiltinForItsFamily() {
        // kimi-bpe4k.vocab.gguf has tokenizer.ggml.pre = kimi-k2 and no chat template
        CliTest.Result r = CliTest.run("template", "--model", Fixtures.tokenizer().resolve("kimi-bpe4k.vocab.gguf").toString(),
                "--conversation", conversations(), "--key", "c1-system-user");
        assertEquals(0, r.rc(), r.err());
        assertEquals("<|im_system|>system<|im_middle|>You are a terse assistant.<|im_end|><|im_user|>user<|im_middle|>"
                + "What is MoE?<|im_end|><|im_assistant|>assistant<|im_middle|>", r.out());
    }

    @Test
    void missingOrUnknownKeyListsTheKeys() {
        String tpl = templates().resolve("Kimi-K2-Instruct.jinja").toString();
        CliTest.Result r = CliTest.run("template", "--template", tpl, "--conversation", conversations());
        assertEquals(1, r.rc());
        assertEquals("", r.out());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        assertTrue(r.err().contains("--key") && r.err().contains("c1-system-user, c2-multiturn-nosystem"), r.err());

        r = CliTest.run("template", "--template", tpl, "--conversation", conversations(), "--key", "c9");
        assertEquals(1, r.rc());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        assertTrue(r.err().contains("no conversation 'c9'") && r.err().contains("c3-tools"), r.err());
    }

    @Test
    void templateRaisingIsOneClearLine() throws IOException {
        Path conv = tmp.resolve("two-calls.json");
        Files.writeString(conv, """
                {"c": {"messages": [{"role": "user", "content": "Weather?"},
                  {"role": "assistant", "content": "", "tool_calls": [
                    {"type": "function", "function": {"name": "w", "arguments": {"city": "Paris"}}},
                    {"type": "function", "function": {"name": "w", "arguments": {"city": "Rome"}}}]}],
                 "add_generation_prompt": true}}""");
        CliTest.Result r = CliTest.run("template", "--template",
                templates().resolve("meta-llama-Llama-3.1-8B-Instruct.jinja").toString(), "--conversation", conv.toString());
        assertEquals(1, r.rc());
        assertEquals("", r.out());
        assertEquals("trillium template: the template rejected the conversation: "
                + "This model only supports single tool-calls at once!", r.err().strip());
    }

    @Test
    void badInputsAreOneClearLine() throws IOException {
        Path bad = tmp.resolve("bad.jinja");
        Files.writeString(bad, "{% if x %}never closed");
        CliTest.Result r = CliTest.run("template", "--template", bad.toString(), "--conversation", conversations(),
                "--key", "c1-system-user");
        assertEquals(1, r.rc());
        assertTrue(r.err().contains("endif"), r.err());

        r = CliTest.run("template", "--template", tmp.resolve("none.jinja").toString(), "--conversation", conversations(),
                "--key", "c1-system-user");
        assertEquals(1, r.rc());
        assertTrue(r.err().contains("none.jinja"), r.err());
    }
}
