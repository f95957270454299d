package io.trillium.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.trillium.chat.ChatTemplate;
import io.trillium.chat.ChatTemplateException;
import io.trillium.chat.ChatTemplates;
import io.trillium.gguf.GgufFile;
import io.trillium.gguf.GgufMetadata;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code trillium template}: renders one conversation with a chat template, printing exactly the
 * rendering (no newline added) so it can be diffed against a reference file.
 */
@Command(name = "template", mixinStandardHelpOptions = true,
        description = "Render a conversation with a chat template (a .jinja file or a model's own/built-in one).")
final class TemplateCommand implements Callable<Integer> {

    static final class Source {
        @Option(names = "--template", paramLabel = "FILE.jinja", required = true, description = "Jinja chat template")
        Path template;

        @Option(names = "--model", paramLabel = "FILE", required = true,
                description = "GGUF model: its tokenizer.chat_template, else the built-in for its family")
        Path model;
    }

    @ArgGroup(exclusive = true, multiplicity = "1")
    Source source;

    @Option(names = "--conversation", paramLabel = "FILE.json", required = true,
            description = "JSON object of named conversations, each the template's keyword arguments "
                    + "(messages, tools, add_generation_prompt, ...)")
    Path conversation;

    @Option(names = "--key", paramLabel = "NAME", description = "which conversation (needed when the file has several)")
    String key;

    @Option(names = "--bos-token", paramLabel = "TEXT",
            description = "bos_token (default: the model's, else <s>)")
    String bosToken;

    @Option(names = "--eos-token", paramLabel = "TEXT",
            description = "eos_token (default: the model's, else </s>)")
    String eosToken;

    @Override
    public Integer call() throws IOException {
        Map<String, Object> conv = selectConversation(readJson(conversation));
        Map<String, Object> vars = new LinkedHashMap<>();
        vars.put("bos_token", "<s>");
        vars.put("eos_token", "</s>");
        ChatTemplate template;
        if (source.template != null) {
            template = ChatTemplate.compile(read(source.template));
        } else if (io.trillium.safetensors.SafetensorsCheckpoint.isCheckpoint(source.model)) {
            java.nio.file.Path dir = java.nio.file.Files.isDirectory(source.model) ? source.model
                    : source.model.toAbsolutePath().getParent();
            template = ChatTemplates.forCheckpoint(dir, "chatml");
        } else {
            try (GgufFile gguf = GgufFile.open(source.model)) {
                GgufMetadata md = gguf.metadata();
                template = ChatTemplates.forModel(md);
                specialToken(md, "tokenizer.ggml.bos_token_id").ifPresent(t -> vars.put("bos_token", t));
                specialToken(md, "tokenizer.ggml.eos_token_id").ifPresent(t -> vars.put("eos_token", t));
            }
        }
        if (bosToken != null) {
            vars.put("bos_token", bosToken);
        }
        if (eosToken != null) {
            vars.put("eos_token", eosToken);
        }
        vars.putAll(conv);
        String rendered;
        try {
            rendered = template.render(vars);
        } catch (ChatTemplateException e) {
            throw new IllegalArgumentException(e.raisedByTemplate()
                    ? "the template rejected the conversation: " + e.getMessage() : e.getMessage(), e);
        }
        // Raw UTF-8 bytes: the platform encoding of System.out may not hold DeepSeek's or Kimi's markers.
        System.out.write(rendered.getBytes(StandardCharsets.UTF_8));
        System.out.flush();
        return 0;
    }

    private Map<String, Object> selectConversation(Map<String, Object> all) {
        List<String> keys = List.copyOf(all.keySet());
        if (key == null && keys.size() != 1) {
            throw new IllegalArgumentException(conversation + " holds " + keys.size()
                    + " conversations, choose one with --key: " + String.join(", ", keys));
        }
        String k = key != null ? key : keys.get(0);
        if (!(all.get(k) instanceof Map<?, ?> conv)) {
            throw new IllegalArgumentException(all.containsKey(k)
                    ? "conversation '" + k + "' in " + conversation + " is not a JSON object"
                    : "no conversation '" + k + "' in " + conversation + "; keys: " + String.join(", ", keys));
        }
        @SuppressWarnings("unchecked")
        Map<String, Object> m = (Map<String, Object>) conv;
        return m;
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> readJson(Path file) throws IOException {
        Object v;
        try {
            v = new ObjectMapper().readValue(read(file), Object.class);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalArgumentException(file + ": not valid JSON: " + e.getOriginalMessage());
        }
        if (!(v instanceof Map)) {
            throw new IllegalArgumentException(file + ": expected a JSON object of named conversations");
        }
        return (Map<String, Object>) v;
    }

    private static String read(Path file) throws IOException {
        try {
            return Files.readString(file);
        } catch (NoSuchFileException e) {
            throw new IllegalArgumentException(file + ": no such file");
        }
    }

    /** The text of a special token, from the id the vocabulary names for it. */
    private static java.util.Optional<String> specialToken(GgufMetadata md, String idKey) {
        if (!md.has(idKey) || !md.has("tokenizer.ggml.tokens")) {
            return java.util.Optional.empty();
        }
        List<String> tokens = md.getStringArray("tokenizer.ggml.tokens");
        int id = md.getInt(idKey);
        return id >= 0 && id < tokens.size() ? java.util.Optional.of(tokens.get(id)) : java.util.Optional.empty();
    }
}
