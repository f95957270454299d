package io.trillium.moe;

import io.trillium.backend.ComputeBackend;
import io.trillium.model.Ops;

/** Runs the chosen experts of one token and adds their weighted outputs. */
public final class ExpertExecutor {
    private final ExpertSource source;
    private final ComputeBackend backend;
    private final float[] gate;
    private final float[] up;
    private final float[] out;

    public ExpertExecutor(ExpertSource source, ComputeBackend backend, int hidden, int expertFfn) {
        this.source = source;
        this.backend = backend;
        this.gate = new float[expertFfn];
        this.up = new float[expertFfn];
        this.out = new float[hidden];
    }

    /** {@code y += Σ_k weights[k] · expert(ids[k])(h)} over the first {@code k} chosen experts. */
    public void run(int layer, float[] h, int[] ids, float[] weights, int k, float[] y) {
        for (int j = 0; j < k; j++) {
            ExpertWeights e = source.expert(layer, ids[j]);
            swiglu(backend, e, h, gate, up, out);
            Ops.axpy(y, weights[j], out, out.length);
        }
    }

    /** {@code out = down(silu(gate·h) ⊙ up·h)}, with caller-provided scratch. */
    public static void swiglu(ComputeBackend backend, ExpertWeights e, float[] h, float[] gate, float[] up, float[] out) {
        backend.matVec(e.gate(), h, gate);
        backend.matVec(e.up(), h, up);
        Ops.swiglu(gate, up, (int) e.gate().rowCount());
        backend.matVec(e.down(), gate, out);
    }
}
