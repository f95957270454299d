package io.trillium.tokenizer;

/** Token types as stored in {@code tokenizer.ggml.token_type} (GGUF spec / llama.cpp). */
public enum TokenType {
    UNDEFINED(0), NORMAL(1), UNKNOWN(2), CONTROL(3), USER_DEFINED(4), UNUSED(5), BYTE(6);

    private final int id;

    TokenType(int id) {
        this.id = id;
    }

    /** The id stored in GGUF. */
    public int id() {
        return id;
    }

    /** The type with this GGUF id; unknown ids are an error the caller reports with context. */
    public static TokenType byId(int id) {
        for (TokenType t : values()) {
            if (t.id == id) {
                return t;
            }
        }
        throw new IllegalArgumentException("unknown token type " + id + " (expected 0..6)");
    }
}
