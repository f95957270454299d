package io.trillium.api;

import io.trillium.sample.Draw;
import io.trillium.sample.Greedy;
import io.trillium.sample.LogitsProcessor;
import io.trillium.sample.Sampler;
import io.trillium.sample.SamplingContext;

import java.util.List;

/**
 * Factory for the built-in samplers. Most callers want a {@link SamplerChain}, e.g.
 * <pre>{@code Sampler s = Samplers.topP(0.95).temperature(0.6);}</pre>
 * which runs penalties → logit bias → top-k → top-p → min-p → temperature → draw (llama.cpp's
 * order). The seed belongs to the request; samplers draw only from {@link SamplingContext#random()}.
 * All built-ins are immutable and may be shared between sessions and threads.
 */
public final class Samplers {
    private Samplers() {}

    /** Argmax, ties → lowest id; uses no randomness. */
    public static Sampler greedy() {
        return Greedy.INSTANCE;
    }

    /** Plain softmax draw at temperature 1, nothing filtered: the start of a fluent chain. */
    public static SamplerChain builder() {
        return SamplerChain.DEFAULT;
    }

    /** {@code builder().temperature(t)}. */
    public static SamplerChain temperature(double t) {
        return builder().temperature(t);
    }

    /** {@code builder().topK(k)}. */
    public static SamplerChain topK(int k) {
        return builder().topK(k);
    }

    /** {@code builder().topP(p)}. */
    public static SamplerChain topP(double p) {
        return builder().topP(p);
    }

    /** {@code builder().minP(p)}. */
    public static SamplerChain minP(double p) {
        return builder().minP(p);
    }

    /** The final random draw alone (softmax + one uniform draw), for hand-built chains. */
    public static Sampler draw() {
        return Draw.INSTANCE;
    }

    /** Runs {@code processors} in order, then {@code last}: a hand-built chain as one {@link Sampler}. */
    public static Sampler chain(List<? extends LogitsProcessor> processors, Sampler last) {
        LogitsProcessor[] stages = processors.toArray(LogitsProcessor[]::new);
        return (logits, context) -> {
            for (LogitsProcessor p : stages) p.process(logits, context);
            return last.sample(logits, context);
        };
    }
}
