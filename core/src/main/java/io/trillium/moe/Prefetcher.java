package io.trillium.moe;

import io.trillium.backend.ComputeBackend;
import io.trillium.backend.Ops;
import io.trillium.quant.Tensor;

import java.util.concurrent.atomic.AtomicLong;

/**
 * What the forward pass does with each routing decision besides computing it: counts it in the
 * model's {@link ExpertStats}; and, when the experts come from a slow tier, starts the reads of all
 * chosen experts at once (several in flight rather than one after the other) and predicts the next MoE
 * layer's experts so their reads overlap this layer's compute.
 *
 * <p>The prediction applies layer L+1's FFN norm and router to the residual stream as it enters layer
 * L's feed-forward: the residual changes little from one layer to the next, so this is the router
 * input of L+1 minus two sub-layer updates. Accuracy is the fraction of the experts layer L+1 actually
 * chose that were predicted.
 */
public final class Prefetcher {
    /** The router of one MoE layer: its FFN norm, gate matrix and selection bias (may be null). */
    public record Gate(float[] norm, Tensor router, float[] bias) {
    }

    private final ExpertSource source;
    private final ComputeBackend backend;
    private final Routing routing;
    private final Gate[] gates;      // null for dense layers
    private final int[] nextMoe;     // the next MoE layer after l, or -1
    private final ExpertStats stats;
    private final boolean predict;
    private final AtomicLong predictedChoices = new AtomicLong();
    private final AtomicLong predictedRight = new AtomicLong();

    /** For a model whose MoE layers have {@code gates} (null entries for dense layers). */
    public Prefetcher(ExpertSource source, ComputeBackend backend, Routing routing, Gate[] gates) {
        this.source = source;
        this.backend = backend;
        this.routing = routing;
        this.gates = gates.clone();
        this.nextMoe = new int[gates.length];
        int next = -1;
        for (int l = gates.length - 1; l >= 0; l--) {
            nextMoe[l] = next;
            if (gates[l] != null) {
                next = l;
            }
        }
        this.stats = new ExpertStats(gates.length, Math.max(1, routing.experts()));
        this.predict = source.prefetches() && source.wantsPredictions();
    }

    /** Whether {@link #routed} predicts the next layer's experts from the residual stream it is given. */
    public boolean predicts() {
        return predict;
    }

    /** Per-decoding-state scratch (one thread at a time). */
    public final class Scratch {
        private final float[] h = new float[routing.hidden()];
        private final float[] logits = new float[Math.max(1, routing.experts())];
        private final float[] weights = new float[Math.max(1, routing.used())];
        private final Router router = routing.experts() > 0 ? new Router(routing) : null;
        private final int[][] predicted = new int[gates.length][Math.max(1, routing.used())];
        private final boolean[] hasPrediction = new boolean[gates.length];
    }

    /** Scratch for one decoding state. */
    public Scratch newScratch() {
        return new Scratch();
    }

    /**
     * Layer {@code layer} chose the first {@code k} of {@code ids} for the token whose residual stream
     * (entering this layer's feed-forward) is {@code x}. Call before computing the experts.
     */
    public void routed(Scratch s, int layer, int[] ids, int k, float[] x) {
        routed(s, layer, ids, k, x, true);
    }

    /**
     * As {@link #routed(Scratch, int, int[], int, float[])}; {@code predictNext} false skips the prediction
     * of the next layer (a prefill batch predicts once, from its last token).
     */
    public void routed(Scratch s, int layer, int[] ids, int k, float[] x, boolean predictNext) {
        stats.record(layer, ids, k);
        if (!source.prefetches()) {
            return;
        }
        for (int j = 0; j < k; j++) {
            source.prefetch(layer, ids[j], false);
        }
        if (s.hasPrediction[layer]) {
            s.hasPrediction[layer] = false;
            int right = 0;
            int[] p = s.predicted[layer];
            for (int j = 0; j < k; j++) {
                for (int i = 0; i < k; i++) {
                    if (p[i] == ids[j]) {
                        right++;
                        break;
                    }
                }
            }
            predictedChoices.addAndGet(k);
            predictedRight.addAndGet(right);
        }
        int next = nextMoe[layer];
        if (!predict || !predictNext || next < 0) {
            return;
        }
        Gate g = gates[next];
        Ops.rmsnorm(s.h, 0, x, 0, g.norm(), routing.hidden(), routing.rmsEps());
        backend.matVec(g.router(), s.h, s.logits);
        s.router.route(s.logits, g.bias(), s.predicted[next], s.weights);
        s.hasPrediction[next] = true;
        for (int j = 0; j < s.router.used(); j++) {
            source.prefetch(next, s.predicted[next][j], true);
        }
    }

    /** How often each expert was chosen since load. */
    public ExpertStats stats() {
        return stats;
    }

    /** Fraction of chosen experts (in layers that had a prediction) that were predicted; NaN before any. */
    public double accuracy() {
        long n = predictedChoices.get();
        return n == 0 ? Double.NaN : (double) predictedRight.get() / n;
    }
}
