package io.trillium.chat;

import io.trillium.gguf.GgufMetadata;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Where a model's chat template comes from: the GGUF file's own {@code tokenizer.chat_template}, or,
 * for files converted without one, a built-in for the model family.
 */
public final class ChatTemplates {
    /** GGUF key holding the Hugging Face template. */
    public static final String KEY = "tokenizer.chat_template";

    /** Names accepted by {@link #builtin(String)}. */
    public static final List<String> BUILTIN_NAMES = List.of("kimi-k2", "deepseek-v3", "chatml", "llama3");

    private static final Map<String, ChatTemplate> BUILTINS = new ConcurrentHashMap<>();

    private ChatTemplates() {
    }

    /** The file's template if it has one, else {@link #builtin(String) builtin}({@link #builtinNameFor}). */
    public static ChatTemplate forModel(GgufMetadata metadata) {
        String own = metadata.stringValue(KEY).orElse("");
        return own.isBlank() ? builtin(builtinNameFor(metadata)) : ChatTemplate.compile(own);
    }

    /**
     * A checkpoint directory's template: {@code chat_template.jinja}, else {@code tokenizer_config.json}'s
     * {@code chat_template} (a string, or a list of {name, template} whose "default" is taken), else the
     * built-in {@code fallback}.
     */
    public static ChatTemplate forCheckpoint(java.nio.file.Path dir, String fallback) throws IOException {
        java.nio.file.Path jinja = dir.resolve("chat_template.jinja");
        if (java.nio.file.Files.isRegularFile(jinja)) {
            return ChatTemplate.compile(java.nio.file.Files.readString(jinja));
        }
        java.nio.file.Path cfg = dir.resolve("tokenizer_config.json");
        if (java.nio.file.Files.isRegularFile(cfg)) {
            com.fasterxml.jackson.databind.JsonNode t = new com.fasterxml.jackson.databind.ObjectMapper()
                    .readTree(cfg.toFile()).path("chat_template");
            if (t.isTextual() && !t.asText().isBlank()) {
                return ChatTemplate.compile(t.asText());
            }
            for (com.fasterxml.jackson.databind.JsonNode n : t) {
                if (n.path("name").asText().equals("default")) {
                    return ChatTemplate.compile(n.path("template").asText());
                }
            }
        }
        return builtin(fallback);
    }

    /**
     * The built-in template for a model without one: the pre-tokenizer names the family more precisely
     * than the architecture (Kimi K2 is a {@code deepseek2} model with pre-tokenizer {@code kimi-k2}).
     * Unknown families get ChatML, the most widely used format.
     */
    public static String builtinNameFor(GgufMetadata metadata) {
        String pre = metadata.getString("tokenizer.ggml.pre", "").toLowerCase(Locale.ROOT);
        String arch = metadata.getString("general.architecture", "").toLowerCase(Locale.ROOT);
        if (pre.startsWith("kimi")) {
            return "kimi-k2";
        }
        if (pre.equals("deepseek-v3") || arch.startsWith("deepseek2") || arch.startsWith("deepseek3")) {
            return "deepseek-v3";
        }
        if (pre.startsWith("qwen") || arch.startsWith("qwen")) {
            return "chatml";
        }
        if (pre.startsWith("llama") || arch.startsWith("llama")) {
            return "llama3";
        }
        return "chatml";
    }

    /** A built-in template by name: kimi-k2, deepseek-v3, chatml (Qwen3) or llama3. */
    public static ChatTemplate builtin(String name) {
        if (!BUILTIN_NAMES.contains(name)) {
            throw new IllegalArgumentException("no built-in chat template '" + name + "'; known: " + BUILTIN_NAMES);
        }
        return BUILTINS.computeIfAbsent(name, n -> ChatTemplate.compile(resource(n + ".jinja")));
    }

    private static String resource(String file) {
        try (InputStream in = ChatTemplates.class.getResourceAsStream(file)) {
            if (in == null) {
                throw new IllegalStateException("missing resource io/trillium/chat/" + file);
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
