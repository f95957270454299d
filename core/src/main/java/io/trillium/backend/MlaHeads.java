package io.trillium.backend;

import io.trillium.quant.Tensor;

/**
 * The per-head part of absorbed MLA attention on the CPU, for a run of consecutive tokens: for head
 * {@code h} and token {@code t} (at cache position {@code p0 + t}, its entry already cached),
 * {@code qAbs = [k_b[h]·q_nope | q_pe]}, a causal softmax over positions {@code ≤ p0 + t} of
 * {@code qAbs·[c | k_pe]·scale}, {@code oLat = Σ p·c}, and {@code o[t][h] = v_b[h]·oLat}.
 *
 * <p>Heads are independent, so one parallel loop over heads runs all three steps: one barrier per layer
 * instead of three per token, and a head's products run on the worker that attends with them. A run of
 * tokens goes through each head's k_b and v_b as batched products, {@link #TOKEN_TILE} tokens at a time;
 * each (row, token) of a batched product is bit for bit that token's mat-vec in the quantized numerics
 * (within 1e-6 in the exact ones), and attention is per (head, token) the same code as for one token, so
 * a token's result does not depend on the run it is computed in.
 *
 * <p>Not thread-safe: one call at a time per instance (a state's decode step, or one prefill layer).
 */
public final class MlaHeads implements WorkerPool.RangeTask {

    /** The shapes of absorbed MLA attention: per-head widths and the softmax scale. */
    public record Shape(int heads, int nope, int rope, int kvLora, int vDim, float scale) {
        public Shape {
            if (heads < 1 || nope < 1 || rope < 0 || kvLora < 1 || vDim < 1) {
                throw new IllegalArgumentException("MLA shape: " + heads + " heads, nope " + nope + ", rope " + rope
                        + ", kv_lora " + kvLora + ", v " + vDim);
            }
        }

        /** Floats of one head's query: {@code [q_nope | q_pe]}. */
        public int qHead() {
            return nope + rope;
        }

        /** Floats of one cache entry, and of one head's absorbed query: {@code [c | k_pe]}. */
        public int width() {
            return kvLora + rope;
        }
    }

    /** Tokens a head's batched products take at once (scratch: this many tokens' qAbs and oLat). */
    public static final int TOKEN_TILE = 16;
    /** Heads per index of the parallel loop: attention's 4-head register tiles stay whole on one worker. */
    private static final int HEAD_GROUP = 4;

    private final CpuBackend cpu;
    private final Shape shape;

    // ---- one call's operands (set by attend, cleared after it)
    private Tensor[] kB;
    private Tensor[] vB;
    private float[] q;
    private float[] cache;
    private int cacheOff;
    private int p0;
    private int tokens;
    private float[] o;
    private float[] qAbs;
    private float[] att;
    private int attStride;
    private float[] oLat;
    private int tile;

    public MlaHeads(CpuBackend cpu, Shape shape) {
        this.cpu = java.util.Objects.requireNonNull(cpu, "cpu");
        this.shape = java.util.Objects.requireNonNull(shape, "shape");
    }

    /** The shapes this instance attends with. */
    public Shape shape() {
        return shape;
    }

    /** Floats of {@code qAbs} scratch {@link #attend} needs for runs of {@code tile} tokens. */
    public int qAbsFloats(int tile) {
        return tile * shape.heads() * shape.width();
    }

    /** Floats of {@code oLat} scratch {@link #attend} needs for runs of {@code tile} tokens. */
    public int oLatFloats(int tile) {
        return tile * shape.heads() * shape.kvLora();
    }

    /**
     * Tokens {@code [0, tokens)} at positions {@code p0 + t}: reads {@code q[t·heads·qHead + h·qHead ..]}
     * (rope applied) and the cache ({@code width} floats per position from {@code cacheOff}), writes
     * {@code o[t·heads·vDim + h·vDim ..]}. {@code kB[h]} has kv_lora rows of nope values, {@code vB[h]} vDim rows
     * of kv_lora values. Scratch: {@code qAbs} and {@code oLat} for {@code tile} tokens ({@link #qAbsFloats},
     * {@link #oLatFloats}), {@code att} one row of {@code attStride ≥ p0 + tokens} floats per head.
     */
    public void attend(Tensor[] kB, Tensor[] vB, float[] q, float[] cache, int cacheOff, int p0, int tokens, float[] o,
                       float[] qAbs, float[] att, int attStride, float[] oLat, int tile) {
        int heads = shape.heads();
        if (kB.length < heads || vB.length < heads || tile < 1 || attStride < p0 + tokens
                || qAbs.length < qAbsFloats(Math.min(tile, tokens)) || oLat.length < oLatFloats(Math.min(tile, tokens))
                || att.length < (long) heads * attStride) {
            throw new IllegalArgumentException("MLA heads: scratch or weights too small for " + tokens + " tokens at "
                    + p0 + " (" + shape + ", tile " + tile + ", att stride " + attStride + ")");
        }
        this.kB = kB;
        this.vB = vB;
        this.q = q;
        this.cache = cache;
        this.cacheOff = cacheOff;
        this.p0 = p0;
        this.tokens = tokens;
        this.o = o;
        this.qAbs = qAbs;
        this.att = att;
        this.attStride = attStride;
        this.oLat = oLat;
        this.tile = tile;
        try {
            int groups = (heads + HEAD_GROUP - 1) / HEAD_GROUP;
            WorkerPool pool = cpu.pool();
            if (groups > 1 && pool.threads() > 1 && !pool.insideLoop()) {
                pool.parallelFor(groups, 1, this);
            } else {
                run(0, groups);
            }
        } finally {
            this.kB = this.vB = null;
            this.q = this.cache = this.o = this.qAbs = this.att = this.oLat = null;
        }
    }

    /** Head groups {@code [from, to)}: every token of the call, a tile at a time. */
    @Override
    public void run(int from, int to) {
        int heads = shape.heads();
        int h0 = from * HEAD_GROUP;
        int h1 = Math.min(heads, to * HEAD_GROUP);
        int qHead = shape.qHead();
        int qDim = heads * qHead;
        int width = shape.width();
        int kvLora = shape.kvLora();
        int vDim = shape.vDim();
        for (int t0 = 0; t0 < tokens; t0 += tile) {
            int nt = Math.min(tile, tokens - t0);
            for (int h = h0; h < h1; h++) {
                product(kB[h], q, t0 * qDim + h * qHead, qDim, qAbs, h * width, heads * width, nt);
                for (int t = 0; t < nt; t++) {
                    System.arraycopy(q, (t0 + t) * qDim + h * qHead + shape.nope(), qAbs,
                            t * heads * width + h * width + kvLora, shape.rope());
                }
            }
            for (int t = 0; t < nt; t++) {
                Ops.mlaAttendHeads(qAbs, t * heads * width, h0, h1, cache, cacheOff, p0 + t0 + t + 1, width, kvLora,
                        shape.scale(), att, attStride, oLat, t * heads * kvLora);
            }
            for (int h = h0; h < h1; h++) {
                product(vB[h], oLat, h * kvLora, heads * kvLora, o, t0 * heads * vDim + h * vDim, heads * vDim, nt);
            }
        }
    }

    /** One token: its mat-vec (what decode has always done); more: the batched product, bit for bit the same. */
    private void product(Tensor w, float[] x, int xOff, int xStride, float[] y, int yOff, int yStride, int nt) {
        if (nt == 1) {
            cpu.matVec(w, x, xOff, y, yOff);
        } else {
            cpu.matMul(w, x, xOff, xStride, y, yOff, yStride, nt);
        }
    }
}
