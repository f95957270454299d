package io.trillium.model;

/**
 * Where a decode step's time goes, by operation class ({@code trillium bench --breakdown}). Off until
 * {@link #enable}d: then each class's share is the wall time between two marks of the step, read with
 * {@link System#nanoTime()} (two reads per class per layer, nothing allocated). Time the pool's workers
 * spend is inside the class that started them; the caller's wait for them is {@code WorkerPool.waitNanos}.
 */
public final class StepTimes {
    /** The operation classes, in step order. */
    public enum Op {
        ATTENTION_PROJECTIONS("attention projections (norms, q_a, q_b, kv_a, output)"),
        ATTENTION("attention (MLA: per-head k_b and v_b, rope of q; softmax over the KV cache)"),
        DENSE_FFN("dense FFN"),
        ROUTER("router (norm, logits, top-k)"),
        SHARED_EXPERT("shared expert (on the CPU: with the routed experts)"),
        ROUTED_EXPERTS("routed experts (on the CPU: and the shared expert)"),
        OUTPUT("embedding, final norm, output head");

        private final String label;

        Op(String label) {
            this.label = label;
        }

        /** What the class holds, for reports. */
        public String label() {
            return label;
        }
    }

    private static final int OPS = Op.values().length;

    /** Never enabled: the marks of a pass nobody measures (a GPU's asynchronous prefill). */
    static final StepTimes OFF = new StepTimes();

    private final long[] nanos = new long[OPS];
    private long steps;
    private boolean on;
    private long last;

    /** Starts or stops timing; counts are kept until {@link #reset}. */
    public void enable(boolean on) {
        this.on = on;
    }

    /** Forgets the counts. */
    public void reset() {
        java.util.Arrays.fill(nanos, 0);
        steps = 0;
    }

    /** Nanoseconds spent in {@code op} since the last reset. */
    public long nanos(Op op) {
        return nanos[op.ordinal()];
    }

    /** Steps timed since the last reset. */
    public long steps() {
        return steps;
    }

    void start() {
        if (on) {
            steps++;
            last = System.nanoTime();
        }
    }

    /** The time since the previous mark goes to {@code op}. */
    void lap(Op op) {
        if (on) {
            long now = System.nanoTime();
            nanos[op.ordinal()] += now - last;
            last = now;
        }
    }
}
