package io.trillium.tokenizer;

import io.trillium.gguf.GgufFile;

import java.io.IOException;
import java.nio.file.Path;

/** TEMPORARY stub until the real factory is merged: GGUF SentencePiece vocabularies only. */
public final class Tokenizers {
    private Tokenizers() {
    }

    public static Tokenizer load(Path path) throws IOException {
        try (GgufFile gguf = GgufFile.open(path)) {
            return SentencePieceTokenizer.fromGguf(gguf.metadata());
        }
    }
}
