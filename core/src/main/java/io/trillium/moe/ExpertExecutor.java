package io.trillium.moe;

import io.trillium.backend.ComputeBackend;
import io.trillium.backend.CpuBackend;
import io.trillium.backend.Ops;
import io.trillium.backend.WorkerPool;

/**
 * Runs the chosen experts of one token and adds their weighted outputs.
 *
 * <p>On a {@link CpuBackend} the chosen experts of a token (and the shared one) go through two parallel
 * loops over all of their rows ({@link CpuBackend#matVecs}): gate and up, then down, into scratch of each
 * expert's own slot. The outputs are then summed on the calling thread in the routing order, as the
 * serial path does, so the result does not depend on the thread count or on timing. Expert weights are
 * looked up on the calling thread, before the parallel part. A prompt's experts go by {@link #runBatch}.
 */
public final class ExpertExecutor {

    private final ExpertSource source;
    private final ComputeBackend backend;
    private final CpuBackend cpu;   // the backend as a CpuBackend when it is one (parallel experts)
    private final WorkerPool pool;       // a batch's experts in parallel; null when serial
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
    // the slots' matrices, inputs and outputs for CpuBackend's many-mat-vec loops (grown with the slots)
    private io.trillium.quant.Tensor[] gates = new io.trillium.quant.Tensor[0];
    private io.trillium.quant.Tensor[] ups = new io.trillium.quant.Tensor[0];
    private io.trillium.quant.Tensor[] downs = new io.trillium.quant.Tensor[0];
    private float[][] ins = new float[0][];
    private float[][] outs = new float[0][];

    /** With scratch for {@code used} experts per token made now (else on the first token). */
    public ExpertExecutor(ExpertSource source, ComputeBackend backend, int hidden, int expertFfn, int used) {
        this.source = source;
        this.backend = backend.hostBackend();   // routed experts run next to the memory that holds them
        this.cpu = this.backend instanceof CpuBackend c ? c : null;
        this.pool = cpu != null && cpu.threads() > 1 ? cpu.pool() : null;
        this.hidden = hidden;
        this.expertFfn = expertFfn;
        this.gate = new float[expertFfn];
        this.up = new float[expertFfn];
        this.out = new float[hidden];
        if (cpu != null) {
            ensureSlots(used + 1);   // and the shared expert's
        }
    }

    /** {@code y += Σ_k weights[k] · expert(ids[k])(h)} over the first {@code k} chosen experts. */
    public void run(int layer, float[] h, int[] ids, float[] weights, int k, float[] y) {
        run(layer, h, ids, weights, k, y, null, null);
    }

    /** True where {@link #run} computes a shared expert in the same parallel loops as the routed ones. */
    public boolean runsShared() {
        return cpu != null;
    }

    /**
     * {@code y += Σ_k weights[k] · expert(ids[k])(h)}, and, when {@code shared} is not null,
     * {@code sharedOut = shared(h)} (for the caller to add after the routed sum, the serial order). On a
     * {@link CpuBackend} all chosen experts (and the shared one) go through two parallel loops over their
     * rows, gate and up with SwiGLU first, then down: the threads share every matrix's rows, so none waits for
     * another's last whole expert, and a layer costs two hand-offs. Each product is the matrix's own mat-vec
     * bit for bit, and the activation that of {@link Ops#swiglu}.
     */
    public void run(int layer, float[] h, int[] ids, float[] weights, int k, float[] y, ExpertWeights shared,
                    float[] sharedOut) {
        if (cpu == null) {
            if (shared != null) {
                swiglu(backend, shared, h, gate, up, sharedOut);
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
            return;
        }
        int slots = k + (shared != null ? 1 : 0);
        ensureSlots(slots);
        int held = 0;
        try {
            for (; held < k; held++) {
                chosen[held] = source.expert(layer, ids[held]);
            }
            if (shared != null) {
                chosen[k] = shared;
            }
            for (int j = 0; j < slots; j++) {
                ExpertWeights e = chosen[j];
                int f = Math.toIntExact(e.gate().rowCount());
                if (slotGate[j].length < f) {   // a shared expert wider than the routed ones: grown once
                    slotGate[j] = new float[f];
                    slotUp[j] = new float[f];
                }
                gates[j] = e.gate();
                ups[j] = e.up();
                downs[j] = e.down();
                ins[j] = h;
                outs[j] = j < k ? slotOut[j] : sharedOut;
            }
            cpu.swigluMatVecs(gates, ups, ins, slotGate, slotUp, slots);
            cpu.matVecs(downs, slotGate, outs, slots);
            for (int j = 0; j < k; j++) {   // fixed order: the same sums as the serial path
                Ops.axpy(y, weights[j], slotOut[j], hidden);
            }
        } finally {
            java.util.Arrays.fill(gates, null);
            java.util.Arrays.fill(ups, null);
            java.util.Arrays.fill(downs, null);
            java.util.Arrays.fill(ins, null);
            java.util.Arrays.fill(outs, null);
            for (int j = 0; j < slots; j++) {
                chosen[j] = null;
            }
            for (int j = 0; j < held; j++) {
                source.release(layer, ids[j]);
            }
        }
    }

    /** Tokens of a batch whose expert outputs are held at once (bounds {@link #runBatch}'s scratch). */
    static final int BATCH_CHUNK = 128;

    /**
     * The routed experts of a batch of tokens (prefill): {@code y[t·hidden ..] += Σ_k weights[t·used + k] ·
     * expert(ids[t·used + k])(h[t·hidden ..])} for {@code t < tokens}. Tokens are grouped by expert; on a
     * {@link CpuBackend} each chosen expert runs whole on one worker against all of its tokens (gate and up
     * from one quantization of each token, batched products: the expert's weights are read once per batch),
     * and each token's outputs are then summed in its routing order. Every product is bit for bit the
     * mat-vec of that token alone, so a token's result is exactly what {@link #run} gives it: the batch a
     * token is computed in never changes it.
     */
    public void runBatch(int layer, float[] h, int tokens, int[] ids, float[] weights, int used, float[] y) {
        if (cpu == null) {   // no batched products on this backend: token by token
            float[] ht = new float[hidden], yt = new float[hidden];
            for (int t = 0; t < tokens; t++) {
                System.arraycopy(h, t * hidden, ht, 0, hidden);
                System.arraycopy(y, t * hidden, yt, 0, hidden);
                run(layer, ht, java.util.Arrays.copyOfRange(ids, t * used, (t + 1) * used),
                        java.util.Arrays.copyOfRange(weights, t * used, (t + 1) * used), used, yt);
                System.arraycopy(yt, 0, y, t * hidden, hidden);
            }
            return;
        }
        for (int t0 = 0; t0 < tokens; t0 += BATCH_CHUNK) {
            chunk(layer, h, t0, Math.min(tokens, t0 + BATCH_CHUNK), ids, weights, used, y);
        }
    }

    private void chunk(int layer, float[] h, int t0, int t1, int[] ids, float[] weights, int used, float[] y) {
        int slots = (t1 - t0) * used;
        BatchTask b = batch;
        b.prepare(slots, hidden);
        // tokens grouped by expert: order[start[e] ..] lists the slots (token * used + k) routed to e
        int experts = 0;
        for (int i = 0; i < slots; i++) {
            experts = Math.max(experts, ids[t0 * used + i] + 1);
        }
        int[] start = new int[experts + 1];
        for (int i = 0; i < slots; i++) {
            start[ids[t0 * used + i] + 1]++;
        }
        for (int e = 0; e < experts; e++) {
            start[e + 1] += start[e];
        }
        int[] fill = java.util.Arrays.copyOf(start, experts);
        int[] order = new int[slots];
        for (int i = 0; i < slots; i++) {
            order[fill[ids[t0 * used + i]]++] = i;
        }
        // the chosen experts, most tokens first (the longest jobs start first), held a wave at a time
        Integer[] chosen = java.util.stream.IntStream.range(0, experts).filter(e -> start[e + 1] > start[e])
                .boxed().sorted((p, q) -> Integer.compare(start[q + 1] - start[q], start[p + 1] - start[p]))
                .toArray(Integer[]::new);
        // no more held at once than a token's step holds (used): an expert cache is sized for that many, and
        // asking it for more could wait forever for room that only this wave would free; weights read in
        // place go as one set (no barrier between waves where one thread waits for the other's last expert)
        int wave = source.holdsAny() ? chosen.length : Math.max(1, Math.min(used, 4 * cpu.threads()));
        for (int w0 = 0; w0 < chosen.length; w0 += wave) {
            int w1 = Math.min(chosen.length, w0 + wave);
            ExpertWeights[] held = new ExpertWeights[w1 - w0];
            int[] which = new int[w1 - w0];
            int n = 0;
            try {
                for (; n < held.length; n++) {
                    which[n] = chosen[w0 + n];
                    held[n] = source.expert(layer, which[n]);
                }
                b.set(held, which, start, order, h, t0, used);
                try {
                    if (pool != null && held.length > 1) {
                        pool.parallelForEach(held.length, b);   // one expert per claim, most tokens first
                    } else {
                        b.run(0, held.length);
                    }
                } finally {
                    b.clear();
                }
            } finally {
                for (int j = 0; j < n; j++) {
                    source.release(layer, which[j]);
                }
            }
        }
        for (int t = t0; t < t1; t++) {   // routing order: the sums run() makes
            for (int k = 0; k < used; k++) {
                int slot = (t - t0) * used + k;
                Ops.axpy(y, t * hidden, weights[t * used + k], b.out, slot * hidden, hidden);
            }
        }
    }

    private final BatchTask batch = new BatchTask();

    /** Experts {@code [from, to)} of a wave, each whole on this thread against its tokens. */
    private final class BatchTask implements WorkerPool.RangeTask {
        float[] out = new float[0];   // slot (token · used + k) outputs, hidden floats each
        private final ThreadLocal<float[][]> scratch = ThreadLocal.withInitial(() -> new float[4][0]);
        private ExpertWeights[] held;
        private int[] which, start, order;
        private float[] h;
        private int t0, used;

        void prepare(int slots, int hidden) {
            if (out.length < slots * hidden) {
                out = new float[slots * hidden];
            }
        }

        void set(ExpertWeights[] held, int[] which, int[] start, int[] order, float[] h, int t0, int used) {
            this.held = held;
            this.which = which;
            this.start = start;
            this.order = order;
            this.h = h;
            this.t0 = t0;
            this.used = used;
        }

        void clear() {
            set(null, null, null, null, null, 0, 0);
        }

        @Override
        public void run(int from, int to) {
            float[][] s = scratch.get();
            for (int j = from; j < to; j++) {
                ExpertWeights e = held[j];
                int first = start[which[j]], n = start[which[j] + 1] - first;
                int f = Math.toIntExact(e.gate().rowCount());
                float[] xs = s[0] = grow(s[0], n * hidden);
                float[] g = s[1] = grow(s[1], n * f);
                float[] u = s[2] = grow(s[2], n * f);
                float[] ys = s[3] = grow(s[3], n * hidden);
                for (int i = 0; i < n; i++) {
                    int token = t0 + order[first + i] / used;
                    System.arraycopy(h, token * hidden, xs, i * hidden, hidden);
                }
                cpu.matMulPairHere(e.gate(), e.up(), xs, hidden, n, g, u, f);
                Ops.swiglu(g, u, n * f);
                cpu.matMulHere(e.down(), g, f, n, ys, hidden);
                for (int i = 0; i < n; i++) {
                    System.arraycopy(ys, i * hidden, out, order[first + i] * hidden, hidden);
                }
            }
        }
    }

    private static float[] grow(float[] a, int n) {
        return a.length >= n ? a : new float[Math.max(n, a.length * 2)];
    }

    private void ensureSlots(int k) {
        if (slotOut.length >= k) {
            return;
        }
        int had = slotOut.length;
        slotGate = java.util.Arrays.copyOf(slotGate, k);
        slotUp = java.util.Arrays.copyOf(slotUp, k);
        slotOut = java.util.Arrays.copyOf(slotOut, k);
        for (int j = had; j < k; j++) {
            slotGate[j] = new float[expertFfn];
            slotUp[j] = new float[expertFfn];
            slotOut[j] = new float[hidden];
        }
        chosen = new ExpertWeights[k];
        gates = new io.trillium.quant.Tensor[k];
        ups = new io.trillium.quant.Tensor[k];
        downs = new io.trillium.quant.Tensor[k];
        ins = new float[k][];
        outs = new float[k][];
    }

    /** {@code out = down(silu(gate·h) ⊙ up·h)}, with caller-provided scratch. */
    public static void swiglu(ComputeBackend backend, ExpertWeights e, float[] h, float[] gate, float[] up, float[] out) {
        backend.startSwiglu(e.gate(), e.up(), e.down(), h, gate, up, out).await();
    }
}
