package io.trillium.backend;

import io.trillium.quant.Tensor;

/**
 * Where the forward pass's heavy operations run. The CPU backend computes on the quantized blocks
 * in place; a GPU backend (the cuda module) will provide the same operations.
 */
public interface ComputeBackend extends AutoCloseable {

    /**
     * {@code y[yOff + r] = row(r) · x[xOff .. xOff + ne0)} for every row {@code r} of the 2-D matrix
     * {@code w} (shape [ne0, rows]), computed in float on the dequantized weights.
     */
    void matVec(Tensor w, float[] x, int xOff, float[] y, int yOff);

    /** {@link #matVec(Tensor, float[], int, float[], int)} with both offsets 0. */
    default void matVec(Tensor w, float[] x, float[] y) {
        matVec(w, x, 0, y, 0);
    }

    /** Threads the backend computes with. */
    int threads();

    @Override
    void close();
}
