package io.trillium.api;

/**
 * Root of the unchecked exceptions thrown by the Trillium API. Misuse of the API (a closed
 * {@link Model} or {@link Session}, an invalid argument) is reported with the standard
 * {@link IllegalStateException} / {@link IllegalArgumentException} instead.
 */
public class TrilliumException extends RuntimeException {
    /** An exception with a message. */
    public TrilliumException(String message) {
        super(message);
    }

    /** An exception with a message and a cause. */
    public TrilliumException(String message, Throwable cause) {
        super(message, cause);
    }
}
