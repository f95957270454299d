package io.trillium.api;

/** The model file is well formed but describes an architecture or feature Trillium cannot run. */
public class UnsupportedModelException extends TrilliumException {
    /** An exception with a message. */
    public UnsupportedModelException(String message) {
        super(message);
    }

    /** An exception with a message and a cause. */
    public UnsupportedModelException(String message, Throwable cause) {
        super(message, cause);
    }
}
