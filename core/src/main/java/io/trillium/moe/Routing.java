package io.trillium.moe;

/**
 * What routing needs to know of a model: the residual width and norm epsilon (the prefetcher normalises a
 * hidden state the way the next layer will), and the router's rule as llama.cpp's build_moe_ffn applies it.
 * The model package builds it from its configuration ({@code ModelConfig.routing()}), so {@code moe} does not
 * depend on {@code model}.
 *
 * @param hidden      residual width
 * @param rmsEps      RMS-norm epsilon
 * @param experts     routed experts per layer
 * @param used        experts chosen per token
 * @param sigmoid     sigmoid scores (else softmax)
 * @param normalize   renormalise the chosen experts' weights
 * @param scale       factor on the weights
 * @param groups      expert groups (group-limited routing when above 1)
 * @param groupsUsed  groups kept per token
 */
public record Routing(int hidden, float rmsEps, int experts, int used, boolean sigmoid, boolean normalize, float scale,
                      int groups, int groupsUsed) {
}
