package io.trillium.api;

/** The model file is malformed (typically wraps an {@link io.trillium.gguf.GgufFormatException}). */
public class ModelFormatException extends TrilliumException {
    /** An exception with a message and the parser's cause. */
    public ModelFormatException(String message, Throwable cause) {
        super(message, cause);
    }
}
