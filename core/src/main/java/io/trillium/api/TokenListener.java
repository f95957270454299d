package io.trillium.api;

/**
 * Receives a generation as it happens, on the generating thread. The texts of all tokens passed to
 * {@link #onToken} concatenate to {@link GenerationResult#text()}.
 */
@FunctionalInterface
public interface TokenListener {
    /** Called once per generated token (except end-of-generation tokens) and possibly once at the end with a flush {@link Token#NONE}. */
    void onToken(Token token);
}
