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

    /**
     * {@code ya = a·x} and {@code yb = b·x}: two matrices reading the same input (q_a and kv_a, gate and up).
     * A backend may quantize the input once and run both in one pass; results equal two {@link #matVec} calls.
     */
    default void matVecPair(Tensor a, Tensor b, float[] x, float[] ya, float[] yb) {
        matVec(a, x, ya);
        matVec(b, x, yb);
    }

    /**
     * The backend the routed experts run on: the CPU next to the memory that holds them. A GPU backend
     * returns its host backend here, so that {@code ExpertExecutor} computes experts there while the
     * GPU keeps the always-active part.
     */
    default ComputeBackend hostBackend() {
        return this;
    }

    /**
     * Starts {@code out = down(silu(gate·h) ⊙ up·h)} and returns what to wait on before reading
     * {@code out}; {@code h} may be reused as soon as this returns. The default computes it now on this
     * backend ({@code g}, {@code u}: scratch of the FFN width); a GPU backend runs it asynchronously so
     * that the model overlaps it with the routed experts on the host.
     */
    default Pending startSwiglu(Tensor gate, Tensor up, Tensor down, float[] h, float[] g, float[] u, float[] out) {
        matVecPair(gate, up, h, g, u);
        Ops.swiglu(g, u, Math.toIntExact(gate.rowCount()));
        matVec(down, g, out);
        return Pending.DONE;
    }

    /** A computation started by {@link #startSwiglu}; {@link #await()} returns once its output is in place. */
    @FunctionalInterface
    interface Pending {
        Pending DONE = () -> {
        };

        void await();
    }

    /**
     * The backend's own memory and the decode-step operations on it, or null (the CPU backend computes
     * on the host's arrays directly). A model that finds one keeps its always-active part there.
     */
    default Device device() {
        return null;
    }

    /** One line on what the backend did so far (device, memory, transfers), or null when it has nothing to add. */
    default String report() {
        return null;
    }

    /** Threads the backend computes with. */
    int threads();

    @Override
    void close();
}
