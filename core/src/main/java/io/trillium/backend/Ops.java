package io.trillium.backend;

/** The small vector operations of a transformer block, on float arrays, as llama.cpp computes them. */
public final class Ops {
    private Ops() {
    }

    /**
     * Rotary embedding of one vector in place: pair {@code i} (elements {@code i, i + half} with NEOX, else
     * {@code 2i, 2i + 1}) turned by the angle whose cosine is {@code cos[cosOff + i]} and sine
     * {@code sin[sinOff + i]}. The model's {@code Rope} and the CPU device both rotate with this.
     */
    public static void rotate(float[] x, int off, float[] cos, int cosOff, float[] sin, int sinOff, int half,
                              boolean neox) {
        if (neox) {
            for (int i = 0; i < half; i++) {
                float x0 = x[off + i];
                float x1 = x[off + i + half];
                x[off + i] = x0 * cos[cosOff + i] - x1 * sin[sinOff + i];
                x[off + i + half] = x0 * sin[sinOff + i] + x1 * cos[cosOff + i];
            }
        } else {
            for (int i = 0; i < half; i++) {
                float x0 = x[off + 2 * i];
                float x1 = x[off + 2 * i + 1];
                x[off + 2 * i] = x0 * cos[cosOff + i] - x1 * sin[sinOff + i];
                x[off + 2 * i + 1] = x0 * sin[sinOff + i] + x1 * cos[cosOff + i];
            }
        }
    }

    /** {@code out[i] = x[i] / sqrt(mean(x²) + eps) · w[i]} over {@code n} values (sum of squares in double, like ggml). */
    public static void rmsnorm(float[] out, int outOff, float[] x, int xOff, float[] w, int n, float eps) {
        double ss = 0;
        for (int i = 0; i < n; i++) {
            float v = x[xOff + i];
            ss += v * v;
        }
        float scale = (float) (1.0 / Math.sqrt(ss / n + eps));
        for (int i = 0; i < n; i++) {
            out[outOff + i] = x[xOff + i] * scale * w[i];
        }
    }

    /** In-place softmax of {@code x[off .. off + n)}. */
    public static void softmax(float[] x, int off, int n) {
        io.trillium.quant.VectorMath.softmax(x, off, n);
    }

    /** {@code silu(x) = x / (1 + e^-x)}. */
    public static float silu(float x) {
        return io.trillium.quant.VectorMath.silu(x);
    }

    /** {@code gate[i] = silu(gate[i]) · up[i]}: the SwiGLU activation, in place. */
    public static void swiglu(float[] gate, float[] up, int n) {
        io.trillium.quant.VectorMath.swiglu(gate, 0, up, 0, n);
    }

    /** {@code y[yOff + i] += a · x[xOff + i]} for {@code i < n}. */
    public static void axpy(float[] y, int yOff, float a, float[] x, int xOff, int n) {
        io.trillium.quant.VectorMath.axpy(y, yOff, a, x, xOff, n);
    }

    /** {@code y[i] += a · x[i]}. */
    public static void axpy(float[] y, float a, float[] x, int n) {
        io.trillium.quant.VectorMath.axpy(y, 0, a, x, 0, n);
    }

    /** {@code y[i] += x[i]}. */
    public static void add(float[] y, float[] x, int n) {
        for (int i = 0; i < n; i++) {
            y[i] += x[i];
        }
    }

    /** Dot product of {@code a[aOff..]} and {@code b[bOff..]} over {@code n} values. */
    public static float dot(float[] a, int aOff, float[] b, int bOff, int n) {
        return io.trillium.quant.VectorMath.dot(a, aOff, b, bOff, n);
    }

    /** Cached positions a head range passes over together: 8 latent entries (18 KiB for K2's 576 floats) stay in L1. */
    static final int ATTENTION_TILE = 8;

    private static float score(float[] q, int qOff, int h, float[] cache, int cacheOff, int t, int width, float scale) {
        return io.trillium.quant.VectorMath.dot1(q, qOff + h * width, cache, cacheOff + t * width, width) * scale;
    }

    /** The C attention products where the native library loaded ({@code -Dtrillium.native=false}: the Java ones). */
    private static final io.trillium.quant.NativeAttention NATIVE = io.trillium.quant.NativeAttention.best();

    /**
     * {@link #mlaAttendHeads} on the C products: the same sums in the same order as the Java tiles at the same
     * vector width (bit for bit where {@code NativeAttention.lanes()} equals the Java lanes), at about twice their
     * speed; a long cache in chunks of {@code MAX_POSITIONS}.
     */
    private static void mlaAttendHeadsNative(io.trillium.quant.NativeAttention kernels, float[] q, int qOff, int h0, int h1, float[] cache, int cacheOff,
                                             int npos, int width, int kvLora, float scale, float[] att, int attStride,
                                             float[] o, int oOff) {
        int rows = h1 - h0;
        int step = io.trillium.quant.NativeAttention.MAX_POSITIONS;
        for (int p = 0; p < npos; p += step) {
            kernels.scores(q, qOff + h0 * width, width, rows, cache, cacheOff + p * width, width, Math.min(step, npos - p),
                    width, scale, att, h0 * attStride + p, attStride);
        }
        for (int h = h0; h < h1; h++) {
            softmax(att, h * attStride, npos);
        }
        int p = 0;
        do {   // (no positions: zeros)
            kernels.values(o, oOff + h0 * kvLora, kvLora, rows, att, h0 * attStride + p, attStride, cache,
                    cacheOff + p * width, width, Math.min(step, npos - p), kvLora, p > 0);
            p += step;
        } while (p < npos);
    }

    /** Cached positions the weighted sum of values takes per pass over a head range (64 entries: 144 KiB for K2). */
    static final int VALUE_TILE = 64;

    /**
     * Heads {@code [h0, h1)} of MLA attention over {@code npos} latent cache entries {@code [c (kvLora) | k_pe]}
     * of {@code width} floats from {@code cache[cacheOff]}: for head h (query at {@code q[qOff + h·width]}),
     * {@code att[h·attStride + t] = softmax(q · entry[t] · scale)}, {@code o[oOff + h·kvLora ..] = Σ att[t] · c[t]}.
     * The cache is shared by every head (MQA), so positions go in tiles that stay in L1 while all heads of
     * the range pass over them: the cache streams from L2/L3 once per head range, not once per head. Each
     * head's sums run in the same order as one head alone would. The host step and the CPU device share it.
     */
    public static void mlaAttendHeads(float[] q, int qOff, int h0, int h1, float[] cache, int cacheOff, int npos,
                                      int width, int kvLora, float scale, float[] att, int attStride, float[] o,
                                      int oOff) {
        mlaAttendHeads(NATIVE, q, qOff, h0, h1, cache, cacheOff, npos, width, kvLora, scale, att, attStride, o, oOff);
    }

    /**
     * {@link #mlaAttendHeads} on the given C products, or on the Java ones when {@code kernels} is null (tests and
     * benchmarks compare the two; the model uses the library's best where it loaded).
     */
    public static void mlaAttendHeads(io.trillium.quant.NativeAttention kernels, float[] q, int qOff, int h0, int h1,
                                      float[] cache, int cacheOff, int npos, int width, int kvLora, float scale,
                                      float[] att, int attStride, float[] o, int oOff) {
        if (kernels != null) {
            mlaAttendHeadsNative(kernels, q, qOff, h0, h1, cache, cacheOff, npos, width, kvLora, scale, att, attStride,
                    o, oOff);
            return;
        }
        // scores: 4 heads x 2 positions per register tile; every (head, position) sums as VectorMath.dot1
        for (int t0 = 0; t0 < npos; t0 += ATTENTION_TILE) {
            int t1 = Math.min(npos, t0 + ATTENTION_TILE);
            int h = h0;
            for (; h + 4 <= h1; h += 4) {
                int t = t0;
                // (a 4 x 4 tile runs 1.35x faster alone, but C2 boxed 8 of its 16 sums per call in the model's
                // compiled attention: DecodeAllocationTest at 512 bits)
                for (; t + 2 <= t1; t += 2) {
                    io.trillium.quant.VectorMath.scores4x2(q, qOff + h * width, width, cache, cacheOff + t * width, width, width,
                            scale, att, h * attStride + t, attStride);
                }
                for (; t < t1; t++) {
                    for (int k = h; k < h + 4; k++) {
                        att[k * attStride + t] = score(q, qOff, k, cache, cacheOff, t, width, scale);
                    }
                }
            }
            for (; h < h1; h++) {
                for (int t = t0; t < t1; t++) {
                    att[h * attStride + t] = score(q, qOff, h, cache, cacheOff, t, width, scale);
                }
            }
        }
        for (int h = h0; h < h1; h++) {
            softmax(att, h * attStride, npos);
            java.util.Arrays.fill(o, oOff + h * kvLora, oOff + (h + 1) * kvLora, 0f);
        }
        // values: heads four (with AVX-512's registers) or two at a time with their sums in registers,
        // positions in tiles that stay in L2
        for (int t0 = 0; t0 < npos; t0 += VALUE_TILE) {
            int t1 = Math.min(npos, t0 + VALUE_TILE);
            int h = h0;
            for (; io.trillium.quant.VectorMath.FOUR_ROW_SUMS && h + 4 <= h1; h += 4) {
                io.trillium.quant.VectorMath.axpyRows4(o, oOff + h * kvLora, oOff + (h + 1) * kvLora,
                        oOff + (h + 2) * kvLora, oOff + (h + 3) * kvLora, att, h * attStride, (h + 1) * attStride,
                        (h + 2) * attStride, (h + 3) * attStride, cache, cacheOff, width, t0, t1, kvLora);
            }
            for (; h < h1; h += 2) {
                boolean two = h + 1 < h1;
                io.trillium.quant.VectorMath.axpyRows(o, oOff + h * kvLora, two ? oOff + (h + 1) * kvLora : -1, att, h * attStride,
                        two ? (h + 1) * attStride : 0, cache, cacheOff, width, t0, t1, kvLora);
            }
        }
    }
}
