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
