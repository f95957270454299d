/**
 * The sampling SPI ({@link io.trillium.sample.Sampler}, {@link io.trillium.sample.LogitsProcessor},
 * {@link io.trillium.sample.SamplingContext}) and the built-ins with llama.cpp semantics:
 * {@link io.trillium.sample.Penalties}, {@link io.trillium.sample.LogitBias}, {@link io.trillium.sample.TopK},
 * {@link io.trillium.sample.TopP}, {@link io.trillium.sample.MinP}, {@link io.trillium.sample.Temperature}, then
 * {@link io.trillium.sample.Draw} or {@link io.trillium.sample.Greedy}. {@code io.trillium.api.Samplers} and
 * {@code SamplerChain} compose them (the API sits above this package, which knows nothing of it).
 *
 * <p>Thread-safety: every built-in is immutable and stateless, so one instance may serve many
 * sessions at once. Those that need scratch (top-k, top-p, penalties) take it from per-thread arrays
 * grown once to the vocabulary, so a steady-state call allocates nothing. Filters mask tokens by
 * setting their logit to {@code Float.NEGATIVE_INFINITY}.
 */
package io.trillium.sample;
