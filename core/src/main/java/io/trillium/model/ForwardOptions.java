package io.trillium.model;

/**
 * How a model runs its forward pass, fixed when it is built (carried by {@code LoadOptions.forward}). The
 * defaults are what the measurements chose; the others exist to compare against them and to test the paths.
 *
 * @param batchedPrefill    a prompt on the CPU runs as batches (each weight read once per batch); false: token
 *                          by token, as decode does
 * @param vramExpertsEvery  with a GPU: decode tokens between re-rankings of the routed experts kept in VRAM
 *                          (0: none kept there)
 * @param streamExpertsFrom with a GPU: prompt batches of at least this many tokens stream their routed experts
 *                          to the device, each once for all of its tokens; {@link #AUTO}: experts / used × 32
 *                          (ktransformers' rule of thumb: where one transfer costs less than the CPU's work)
 */
public record ForwardOptions(boolean batchedPrefill, int vramExpertsEvery, int streamExpertsFrom) {

    /** {@link #streamExpertsFrom}: chosen from the model's expert counts. */
    public static final int AUTO = 0;

    /** Batched prefill, VRAM experts re-ranked every 64 decode tokens, streaming threshold from the model. */
    public static final ForwardOptions DEFAULT = new ForwardOptions(true, 64, AUTO);

    public ForwardOptions {
        if (vramExpertsEvery < 0) {
            throw new IllegalArgumentException("vramExpertsEvery must be >= 0 (0: no experts kept in VRAM), got "
                    + vramExpertsEvery);
        }
        if (streamExpertsFrom < 0) {
            throw new IllegalArgumentException("streamExpertsFrom must be >= 1 tokens, or AUTO (0), got "
                    + streamExpertsFrom);
        }
    }

    public ForwardOptions withBatchedPrefill(boolean on) {
        return new ForwardOptions(on, vramExpertsEvery, streamExpertsFrom);
    }

    public ForwardOptions withVramExpertsEvery(int tokens) {
        return new ForwardOptions(batchedPrefill, tokens, streamExpertsFrom);
    }

    public ForwardOptions withStreamExpertsFrom(int tokens) {
        return new ForwardOptions(batchedPrefill, vramExpertsEvery, tokens);
    }

    /** The streaming threshold for a model with {@code experts} routed experts, {@code used} per token. */
    int streamThreshold(int experts, int used) {
        if (experts <= 0) {
            return Integer.MAX_VALUE;
        }
        return streamExpertsFrom != AUTO ? streamExpertsFrom : Math.max(1, experts / Math.max(1, used) * 32);
    }
}
