package io.trillium.api;

/** An I/O failure while opening or reading a model. */
public class ResourceException extends TrilliumException {
    /** An exception with a message and the I/O cause. */
    public ResourceException(String message, Throwable cause) {
        super(message, cause);
    }
}
