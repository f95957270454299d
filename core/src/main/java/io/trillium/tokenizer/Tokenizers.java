package io.trillium.tokenizer;

import io.trillium.gguf.GgufFile;
import io.trillium.gguf.GgufMetadata;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Picks the tokenizer implementation for a model file or checkpoint directory. */
public final class Tokenizers {
    private Tokenizers() {
    }

    /** The tokenizer described by GGUF metadata ({@code tokenizer.ggml.model}: gpt2 or llama). */
    public static Tokenizer fromGguf(GgufMetadata md) {
        if (!md.has("tokenizer.ggml.model")) {
            throw new IllegalArgumentException(md.source() + ": no tokenizer.ggml.model key, so no tokenizer");
        }
        String model = md.getString("tokenizer.ggml.model");
        return switch (model) {
            case "gpt2" -> BpeTokenizer.fromGguf(md);
            case "llama" -> SentencePieceTokenizer.fromGguf(md);
            default -> throw new IllegalArgumentException(md.source() + ": tokenizer.ggml.model '" + model
                    + "' is not supported (supported: gpt2, llama)");
        };
    }

    /**
     * A safetensors checkpoint's tiktoken tokenizer: {@code tiktoken.model} plus
     * {@code tokenizer_config.json} in {@code dir} (Kimi K2 layout).
     */
    public static Tokenizer fromTiktokenDirectory(Path dir) throws IOException {
        return BpeTokenizer.fromTiktoken(dir);
    }

    /** A {@code .gguf} file (its metadata is read, the file closed) or a tiktoken checkpoint directory. */
    public static Tokenizer load(Path path) throws IOException {
        if (Files.isDirectory(path)) {
            return fromTiktokenDirectory(path);
        }
        try (GgufFile file = GgufFile.open(path)) {
            return fromGguf(file.metadata());
        }
    }
}
