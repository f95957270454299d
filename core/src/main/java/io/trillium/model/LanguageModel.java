package io.trillium.model;

import io.trillium.moe.ExpertSource;
import io.trillium.moe.Prefetcher;
import io.trillium.tokenizer.Tokenizer;

import java.util.Map;

/**
 * A loaded model that turns token ids into next-token logits. One model serves many
 * {@link State}s (each with its own KV cache); a state is used by one thread at a time, and one forward pass
 * runs at a time per model, whatever the state (its pool, expert source, scratch and device are shared): a
 * second concurrent {@link #forward} throws {@link IllegalStateException}. {@code api.Model} serialises its
 * sessions' passes with a fair lock.
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
     * @throws IllegalStateException if another thread is running a forward pass of this model
     */
    float[] forward(State state, int[] tokens);

    /**
     * One token for each of several states (sessions decoding at the same time): {@code tokens[i]} at
     * {@code states[i]}'s next position. Returns each state's logits (the states' own arrays, as {@link #forward}).
     * Where the model batches them (deepseek2 on the CPU or a device), the pass reads the always-active weights
     * once for all of them and each routed expert once for the tokens that chose it; in the default (quantized)
     * numerics each state's logits are bit for bit those of {@code forward(state, new int[] {token})}. This
     * default runs them one after the other.
     *
     * @throws IllegalArgumentException if the arrays differ in length or are empty, a state appears twice or
     *                                  is not this model's, a token does not fit, or an id is out of range
     * @throws IllegalStateException    if another thread is running a forward pass of this model
     */
    default float[][] forwardEach(State[] states, int[] tokens) {
        checkEach(states, tokens, config().vocab());
        float[][] logits = new float[states.length][];
        for (int i = 0; i < states.length; i++) {
            logits[i] = forward(states[i], new int[] {tokens[i]});
        }
        return logits;
    }

    /** {@link #forwardEach}'s argument checks that do not depend on the model's state types. */
    static void checkEach(State[] states, int[] tokens, int vocab) {
        if (states.length != tokens.length || states.length == 0) {
            throw new IllegalArgumentException(states.length + " states for " + tokens.length
                    + " tokens: one token per state, at least one");
        }
        java.util.Set<State> seen = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
        for (State s : states) {
            if (!seen.add(java.util.Objects.requireNonNull(s, "state"))) {
                throw new IllegalArgumentException("a state appears twice in one pass");
            }
        }
        for (int i = 0; i < tokens.length; i++) {
            if (tokens[i] < 0 || tokens[i] >= vocab) {
                throw new IllegalArgumentException("token id " + tokens[i] + " (state " + i + ") is outside the "
                        + "vocabulary (0.." + (vocab - 1) + ")");
            }
        }
    }

    /**
     * The MoE routing side of the model: per-expert choice counts ({@link Prefetcher#stats()}) and
     * the next-layer prediction's accuracy; null for a dense model.
     */
    default Prefetcher prefetcher() {
        return null;
    }

    /** Tokens run through the model since load (prompt and generated, all states). */
    default long tokensForwarded() {
        return 0;
    }

    /** Where the routed experts come from (an expert cache, in-place tier, the mapped file); null if dense. */
    default ExpertSource expertSource() {
        return null;
    }

    /**
     * Weight bytes read since load, by tier name: the always-active part of every token from "dram"
     * plus the routed experts from whichever tier supplied them.
     */
    default Map<String, Long> bytesRead() {
        return Map.of();
    }

    /** Releases the model's mapped files and threads. */
    @Override
    void close();

    /** A decoding position and its KV cache. */
    interface State extends AutoCloseable {
        /** Tokens processed so far (the next token's position). */
        int position();

        /** Maximum tokens this state holds. */
        int capacity();

        /** Forgets all tokens (position 0), keeping the memory. */
        void reset();

        /** Frees what the state holds outside the heap (a device's KV cache); the state is unusable after. */
        @Override
        default void close() {
        }
    }

    /**
     * The decode step's time by operation class, when this model's host step measures it
     * ({@link StepTimes#enable}); null where it does not (the Llama family, the GPU device step).
     */
    default StepTimes stepTimes() {
        return null;
    }

    /**
     * The same for prompts processed as batches on the CPU ({@code trillium bench --breakdown}); null where
     * this model does not measure them. {@link StepTimes#steps} counts batches.
     */
    default StepTimes prefillTimes() {
        return null;
    }
}
