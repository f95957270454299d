package io.trillium.chat;

/**
 * A chat template that does not parse, fails while rendering, or rejects its input through
 * {@code raise_exception(msg)}; in the last case {@link #getMessage()} is exactly the template's message.
 */
public final class ChatTemplateException extends RuntimeException {
    private final boolean raisedByTemplate;

    public ChatTemplateException(String message) {
        this(message, false);
    }

    ChatTemplateException(String message, boolean raisedByTemplate) {
        super(message);
        this.raisedByTemplate = raisedByTemplate;
    }

    /** True when the template itself called {@code raise_exception}, i.e. it rejected the conversation. */
    public boolean raisedByTemplate() {
        return raisedByTemplate;
    }
}
