package io.trillium.model;

import io.trillium.tokenizer.Tokenizer;

/**
 * A loaded model that turns token ids into next-token logits. One model serves many
 * {@link State}s (each with its own KV cache); a state is used by one thread at a time.
 */
public interface LanguageModel extends AutoCloseable {

    /** The model's hyper-parameters. */
    ModelConfig config();

    /** The model's tokenizer (from its own metadata). */
    Tokenizer tokenizer();

    /** A fresh decoding state (KV cache) for up to {@code contextLength} tokens. */
    State newState(int contextLength);

    /**
     * Appends {@code tokens} at the state's next positions and returns the logits of the last one
     * ({@code vocab} values; the array is the state's and is overwritten by the next call).
     *
     * @throws IllegalArgumentException if the tokens do not fit the state's context, or an id is out of range
     */
    float[] forward(State state, int[] tokens);

    /** Releases the model's mapped files and threads. */
    @Override
    void close();

    /** A decoding position and its KV cache. */
    interface State {
        /** Tokens processed so far (the next token's position). */
        int position();

        /** Maximum tokens this state holds. */
        int capacity();

        /** Forgets all tokens (position 0), keeping the memory. */
        void reset();
    }
}
