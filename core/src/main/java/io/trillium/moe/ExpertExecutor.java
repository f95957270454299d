package io.trillium.moe;

import io.trillium.backend.ComputeBackend;
import io.trillium.backend.CpuBackend;
import io.trillium.backend.WorkerPool;
import io.trillium.model.Ops;

/**
 * Runs the chosen experts of one token and adds their weighted outputs.
 *
 * <p>On a multi-threaded {@link CpuBackend} the experts of a token run in parallel, each whole on one
 * thread (its three mat-vecs on that thread, into scratch of its own slot), which costs one hand-off
 * per layer instead of three per expert. The outputs are then summed on the calling thread in the
 * routing order, as the serial path does, so the result does not depend on the thread count or on
 * timing. Expert weights are looked up on the calling thread, before the parallel part. With fewer
 * chosen experts than threads (a wide machine) whole experts would leave threads idle, so then each
 * expert's mat-vecs are split by rows instead, as they are for small experts.
 */
public final class ExpertExecutor {
    /** Below this many weight bytes of chosen experts the experts run one after the other (rows split). */
    private static final long PARALLEL_BYTES = 256 * 1024;

    private final ExpertSource source;
    private final ComputeBackend backend;
    private final CpuBackend cpu;   // the backend as a CpuBackend when it is one (parallel experts)
    private final WorkerPool pool;       // experts in parallel; null when serial
    private final int hidden;
    private final int expertFfn;
    private final float[] gate;
    private final float[] up;
    private final float[] out;
    // per chosen-expert slot, for the parallel path (grown once to the experts used per token)
    private float[][] slotGate = new float[0][];
    private float[][] slotUp = new float[0][];
    private float[][] slotOut = new float[0][];
    private ExpertWeights[] chosen = new ExpertWeights[0];
    private final SlotsTask slots = new SlotsTask();

    public ExpertExecutor(ExpertSource source, ComputeBackend backend, int hidden, int expertFfn) {
        this(source, backend, hidden, expertFfn, 0);
    }

    /** With scratch for {@code used} experts per token made now (else on the first token). */
    public ExpertExecutor(ExpertSource source, ComputeBackend backend, int hidden, int expertFfn, int used) {
        this.source = source;
        this.backend = backend.hostBackend();   // routed experts run next to the memory that holds them
        // -Dtrillium.parallelExperts=false (read per executor, i.e. per state) splits each expert's mat-vecs by rows.
        boolean parallel = !"false".equalsIgnoreCase(System.getProperty("trillium.parallelExperts"));
        this.cpu = this.backend instanceof CpuBackend c ? c : null;
        this.pool = parallel && cpu != null && cpu.threads() > 1 ? cpu.pool() : null;
        this.hidden = hidden;
        this.expertFfn = expertFfn;
        this.gate = new float[expertFfn];
        this.up = new float[expertFfn];
        this.out = new float[hidden];
        if (pool != null) {
            ensureSlots(used);
        }
    }

    /** {@code y += Σ_k weights[k] · expert(ids[k])(h)} over the first {@code k} chosen experts. */
    public void run(int layer, float[] h, int[] ids, float[] weights, int k, float[] y) {
        if (pool != null && k > 1 && k >= pool.threads()) {
            ensureSlots(k);
            long bytes = 0;
            int held = 0;
            try {
                for (; held < k; held++) {
                    ExpertWeights e = source.expert(layer, ids[held]);
                    chosen[held] = e;
                    bytes += e.gate().byteSize() + e.up().byteSize() + e.down().byteSize();
                }
                if (bytes >= PARALLEL_BYTES) {
                    slots.h = h;
                    try {
                        pool.parallelFor(k, 1, slots);
                    } finally {
                        slots.h = null;
                    }
                    for (int j = 0; j < k; j++) {   // fixed order: the same sums as the serial path
                        Ops.axpy(y, weights[j], slotOut[j], hidden);
                    }
                } else {   // small experts: one after the other, rows split (already held: asked for once)
                    for (int j = 0; j < k; j++) {
                        swiglu(backend, chosen[j], h, gate, up, out);
                        Ops.axpy(y, weights[j], out, out.length);
                    }
                }
                return;
            } finally {
                for (int j = 0; j < held; j++) {
                    chosen[j] = null;
                    source.release(layer, ids[j]);
                }
            }
        }
        for (int j = 0; j < k; j++) {
            ExpertWeights e = source.expert(layer, ids[j]);
            try {
                swiglu(backend, e, h, gate, up, out);
            } finally {
                source.release(layer, ids[j]);
            }
            Ops.axpy(y, weights[j], out, out.length);
        }
    }

    private void ensureSlots(int k) {
        if (slotOut.length >= k) {
            return;
        }
        slotGate = new float[k][expertFfn];
        slotUp = new float[k][expertFfn];
        slotOut = new float[k][hidden];
        chosen = new ExpertWeights[k];
    }

    /** {@code out = down(silu(gate·h) ⊙ up·h)}, with caller-provided scratch. */
    public static void swiglu(ComputeBackend backend, ExpertWeights e, float[] h, float[] gate, float[] up, float[] out) {
        backend.startSwiglu(e.gate(), e.up(), e.down(), h, gate, up, out).await();
    }

    /** Slots {@code [from, to)}: each chosen expert on this thread, into its slot's scratch. */
    private final class SlotsTask implements WorkerPool.RangeTask {
        float[] h;

        @Override
        public void run(int from, int to) {
            for (int j = from; j < to; j++) {
                ExpertWeights e = chosen[j];
                float[] g = slotGate[j];
                cpu.matVecHere(e.gate(), e.up(), h, g, slotUp[j]);   // h quantized once for both
                Ops.swiglu(g, slotUp[j], (int) e.gate().rowCount());
                cpu.matVecHere(e.down(), g, slotOut[j]);
            }
        }
    }
}
