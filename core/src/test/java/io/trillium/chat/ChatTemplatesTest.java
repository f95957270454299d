package io.trillium.chat;

import io.trillium.gguf.GgufMetadata;
import io.trillium.gguf.GgufValue;
import io.trillium.gguf.GgufValueType;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ChatTemplatesTest {

    static GgufMetadata metadata(String... keyValues) {
        Map<String, GgufValue> m = new LinkedHashMap<>();
        for (int i = 0; i < keyValues.length; i += 2) {
            m.put(keyValues[i], new GgufValue(GgufValueType.STRING, keyValues[i + 1]));
        }
        return new GgufMetadata(Path.of("test.gguf"), m);
    }

    /** Each built-in renders the four fixture conversations exactly as Jinja2 renders the same template. */
    @Test
    void builtinsMatchJinja2() throws IOException {
        Map<String, Map<String, Object>> convs = ChatTemplateFixturesTest.conversations();
        for (String name : ChatTemplates.BUILTIN_NAMES) {
            ChatTemplate t = ChatTemplates.builtin(name);
            for (var c : convs.entrySet()) {
                String expected;
                try (InputStream in = ChatTemplatesTest.class.getResourceAsStream("builtin/" + name + "." + c.getKey() + ".txt")) {
                    expected = new String(in.readAllBytes(), StandardCharsets.UTF_8);
                }
                assertEquals(expected, ChatTemplateFixturesTest.render(t, c.getValue()), name + " " + c.getKey());
            }
        }
    }

    @Test
    void kimiBuiltinEqualsTheKimiK2InstructTemplate() throws IOException {
        ChatTemplate t = ChatTemplates.builtin("kimi-k2");
        for (var c : ChatTemplateFixturesTest.conversations().entrySet()) {
            String expected = Files.readString(ChatTemplateFixturesTest.dir()
                    .resolve("expected/Kimi-K2-Instruct." + c.getKey() + ".txt"));
            assertEquals(expected, ChatTemplateFixturesTest.render(t, c.getValue()), c.getKey());
        }
    }

    @Test
    void builtinsRenderASimpleConversation() {
        List<Message> chat = List.of(Message.system("Be brief."), Message.user("Hi"));
        Map<String, Object> special = Map.of("bos_token", "<BOS>");
        assertEquals("<|im_system|>system<|im_middle|>Be brief.<|im_end|><|im_user|>user<|im_middle|>Hi<|im_end|>"
                + "<|im_assistant|>assistant<|im_middle|>", ChatTemplates.builtin("kimi-k2").render(chat, null, true, special));
        assertEquals("<BOS>Be brief.<｜User｜>Hi<｜Assistant｜>",
                ChatTemplates.builtin("deepseek-v3").render(chat, null, true, special));
        assertEquals("<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n",
                ChatTemplates.builtin("chatml").render(chat, null, true, special));
        assertEquals("<BOS><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>"
                + "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n",
                ChatTemplates.builtin("llama3").render(chat, null, true, special));
    }

    @Test
    void forModelPrefersTheFilesTemplate() {
        ChatTemplate own = ChatTemplates.forModel(metadata("general.architecture", "llama",
                ChatTemplates.KEY, "{% for m in messages %}[{{ m.role }}]{% endfor %}"));
        assertEquals("[user]", own.render(List.of(Message.user("x")), null, false, Map.of()));
    }

    @Test
    void forModelChoosesABuiltinByFamily() {
        assertEquals("kimi-k2", ChatTemplates.builtinNameFor(metadata("general.architecture", "deepseek2",
                "tokenizer.ggml.pre", "kimi-k2")));
        assertEquals("deepseek-v3", ChatTemplates.builtinNameFor(metadata("general.architecture", "deepseek2",
                "tokenizer.ggml.pre", "deepseek-v3")));
        assertEquals("chatml", ChatTemplates.builtinNameFor(metadata("general.architecture", "qwen3moe",
                "tokenizer.ggml.pre", "qwen2")));
        assertEquals("llama3", ChatTemplates.builtinNameFor(metadata("general.architecture", "llama",
                "tokenizer.ggml.pre", "llama-bpe")));
        assertEquals("chatml", ChatTemplates.builtinNameFor(metadata("general.architecture", "zoo")));
        String kimi = ChatTemplates.forModel(metadata("general.architecture", "deepseek2", "tokenizer.ggml.pre", "kimi-k2"))
                .render(List.of(Message.user("Hi")), null, true, Map.of());
        assertTrue(kimi.startsWith("<|im_system|>system<|im_middle|>You are Kimi"), kimi);
    }

    @Test
    void unknownBuiltinIsAnError() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ChatTemplates.builtin("vicuna"));
        assertTrue(e.getMessage().contains("kimi-k2"), e.getMessage());
    }
}
