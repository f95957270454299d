package io.trillium.tokenizer;

import io.trillium.gguf.GgufMetadata;

/** STUB: replaced by the real implementation (tokenizer.ggml.model = llama). */
public abstract class SentencePieceTokenizer implements Tokenizer {

    public static Tokenizer fromGguf(GgufMetadata metadata) {
        throw new UnsupportedOperationException("TODO: SentencePiece tokenizer");
    }
}
