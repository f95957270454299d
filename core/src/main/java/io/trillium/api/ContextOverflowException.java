package io.trillium.api;

/** A request needs more positions (prompt + {@code maxTokens}) than the session's context holds. */
public class ContextOverflowException extends TrilliumException {
    private final int required;
    private final int capacity;

    /**
     * @param promptTokens prompt tokens of the request
     * @param maxTokens    tokens the request may generate
     * @param capacity     the session's context length
     */
    public ContextOverflowException(int promptTokens, int maxTokens, int capacity) {
        super("prompt of " + promptTokens + " tokens + maxTokens " + maxTokens + " = "
                + ((long) promptTokens + maxTokens) + " exceeds the session context of " + capacity + " tokens");
        this.required = (int) Math.min(Integer.MAX_VALUE, (long) promptTokens + maxTokens);
        this.capacity = capacity;
    }

    /** Positions the request needs (prompt + maxTokens). */
    public int required() {
        return required;
    }

    /** The session's context length. */
    public int capacity() {
        return capacity;
    }
}
