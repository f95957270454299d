package io.trillium.api;

/**
 * How {@link Trillium#load} opens a model.
 *
 * @param threads              compute threads (at least 1)
 * @param quantizedActivations fast approximate mode: activations quantized to 8 bits for the integer kernels
 * @param contextLength        default context length of {@link Model#newSession()}; 0 = the model's trained context
 */
public record LoadOptions(int threads, boolean quantizedActivations, int contextLength) {
    /** Validates. */
    public LoadOptions {
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be >= 1: " + threads);
        }
        if (contextLength < 0) {
            throw new IllegalArgumentException("contextLength must be >= 0: " + contextLength);
        }
    }

    /** All processors, exact activations, the model's context length. */
    public static LoadOptions defaults() {
        return builder().build();
    }

    /** A builder starting from {@link #defaults()}. */
    public static Builder builder() {
        return new Builder();
    }

    /** Builds {@link LoadOptions}. */
    public static final class Builder {
        private int threads = Runtime.getRuntime().availableProcessors();
        private boolean quantizedActivations;
        private int contextLength;

        private Builder() {
        }

        /** Compute threads. */
        public Builder threads(int threads) {
            this.threads = threads;
            return this;
        }

        /** Fast approximate mode (8-bit activations). */
        public Builder quantizedActivations(boolean on) {
            this.quantizedActivations = on;
            return this;
        }

        /** Default session context length (0 = the model's). */
        public Builder contextLength(int tokens) {
            this.contextLength = tokens;
            return this;
        }

        /** The options. */
        public LoadOptions build() {
            return new LoadOptions(threads, quantizedActivations, contextLength);
        }
    }
}
