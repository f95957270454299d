package io.trillium.tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.OptionalInt;

/**
 * Text to token ids and back, exactly as the model was trained. Implementations are immutable and
 * safe to share between threads.
 */
public interface Tokenizer {

    /** Number of token ids (ids are {@code 0 .. vocabSize() - 1}). */
    int vocabSize();

    /**
     * Encodes {@code text}.
     *
     * @param addSpecial   add BOS/EOS as the vocabulary asks ({@code tokenizer.ggml.add_bos_token} ...)
     * @param parseSpecial recognise the text of control tokens (e.g. {@code <|im_end|>}) as those
     *                     tokens; when false such text is encoded as plain text. User-defined tokens
     *                     (added words) are recognised either way, as in llama.cpp and Hugging Face
     *                     tokenizers.
     */
    int[] encode(String text, boolean addSpecial, boolean parseSpecial);

    /** The bytes token {@code id} stands for (a control token: its text). */
    byte[] tokenBytes(int id);

    /** The token's string as stored in the vocabulary (GPT-2 byte-mapped, SentencePiece {@code ▁} ...). */
    String tokenText(int id);

    /** The token's type. */
    TokenType tokenType(int id);

    /** The id of a token given its vocabulary string (e.g. {@code "<|im_end|>"}), if present. */
    OptionalInt tokenId(String text);

    /** Beginning-of-sequence id, if the vocabulary has one. */
    OptionalInt bos();

    /** End-of-sequence id, if the vocabulary has one. */
    OptionalInt eos();

    /** Decodes ids to text; bytes that are not valid UTF-8 become U+FFFD. */
    default String decode(int... ids) {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        for (int id : ids) {
            out.writeBytes(tokenBytes(id));
        }
        return out.toString(StandardCharsets.UTF_8);
    }
}
