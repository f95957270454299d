package io.trillium.moe;

import io.trillium.quant.Tensor;

/** The three matrices of one SwiGLU expert: {@code down(silu(gate·x) ⊙ up·x)}. */
public record ExpertWeights(Tensor gate, Tensor up, Tensor down) {
}
