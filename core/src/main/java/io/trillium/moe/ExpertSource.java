package io.trillium.moe;

/**
 * Where the routed experts' weights come from. The forward pass asks for each chosen expert here;
 * the tiers issue puts an expert cache (DRAM / PMem / NVMe) behind this interface.
 */
public interface ExpertSource {
    /** The weights of expert {@code expert} of layer {@code layer}. */
    ExpertWeights expert(int layer, int expert);
}
