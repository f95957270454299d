package io.trillium.quant;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * Float-array dot products and axpy on the Vector API, for attention over a cache (scores q·k and
 * the weighted sum of values): 4 independent accumulators of the preferred species, then a scalar tail.
 * The summation order depends only on {@code n} and the vector width, never on threads or batching.
 */
public final class VectorMath {
    private VectorMath() {
    }

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length();

    /** Floats per vector of these kernels (the preferred species): their summation order depends on it. */
    public static int lanes() {
        return L;
    }
    /**
     * Lane sums in a fixed tree: {@code v = v.add(v.rearrange(r))} for each r here, lane i + L/2 onto lane
     * i, then L/4, ..., 1, leaves the sum in lane 0 ((v0 + v8) + (v4 + v12)) + ... at 16 lanes. The order of
     * {@code reduceLanes(ADD)} is unspecified and differs between the interpreter and C2, so a token's
     * attention scores would depend on how far the JIT had got: this one is the same in every tier. Written
     * out at each use: a helper taking a vector boxes it wherever C2 leaves the call out of line.
     */
    @SuppressWarnings("unchecked")
    private static final VectorShuffle<Float>[] FOLDS = java.util.stream.IntStream.iterate(L / 2, k -> k >= 1,
            k -> k / 2)
            .mapToObj(k -> VectorShuffle.iota(S, k, 1, true)).toArray(VectorShuffle[]::new);

    /** {@code Σ a[aOff + i] · b[bOff + i]} over {@code n} values. */
    public static float dot(float[] a, int aOff, float[] b, int bOff, int n) {
        FloatVector s0 = FloatVector.zero(S), s1 = FloatVector.zero(S), s2 = FloatVector.zero(S),
                s3 = FloatVector.zero(S);
        int i = 0;
        for (; i + 4 * L <= n; i += 4 * L) {
            s0 = FloatVector.fromArray(S, a, aOff + i).fma(FloatVector.fromArray(S, b, bOff + i), s0);
            s1 = FloatVector.fromArray(S, a, aOff + i + L).fma(FloatVector.fromArray(S, b, bOff + i + L), s1);
            s2 = FloatVector.fromArray(S, a, aOff + i + 2 * L).fma(FloatVector.fromArray(S, b, bOff + i + 2 * L), s2);
            s3 = FloatVector.fromArray(S, a, aOff + i + 3 * L).fma(FloatVector.fromArray(S, b, bOff + i + 3 * L), s3);
        }
        for (; i + L <= n; i += L) {
            s0 = FloatVector.fromArray(S, a, aOff + i).fma(FloatVector.fromArray(S, b, bOff + i), s0);
        }
        FloatVector v = s0.add(s1).add(s2.add(s3));
        for (VectorShuffle<Float> r : FOLDS) {
            v = v.add(v.rearrange(r));
        }
        float s = v.lane(0);
        for (; i < n; i++) {
            s += a[aOff + i] * b[bOff + i];
        }
        return s;
    }

    /** {@code y[yOff + i] += a · x[xOff + i]} over {@code n} values (one FMA per element, as a scalar fma would round). */
    public static void axpy(float[] y, int yOff, float a, float[] x, int xOff, int n) {
        FloatVector va = FloatVector.broadcast(S, a);
        int i = 0;
        for (; i + L <= n; i += L) {
            FloatVector.fromArray(S, x, xOff + i).fma(va, FloatVector.fromArray(S, y, yOff + i)).intoArray(y, yOff + i);
        }
        for (; i < n; i++) {
            y[yOff + i] = Math.fma(a, x[xOff + i], y[yOff + i]);
        }
    }

    /**
     * {@code y_k[yOff_k + i] += Σ_t a_k[aOff_k + t] · x[xOff + t·xStride + i]} for {@code t} in {@code [t0, t1)},
     * {@code i < n}, for one or two rows k ({@code yOff1 < 0}: one): attention's weighted sum of cached values
     * for two heads at once. Each element gets one FMA per t in increasing t, exactly as {@link #axpy} once per
     * t would round it, but the sums stay in registers (4 vectors per row) and each value vector loaded feeds
     * both heads: one load per two FMAs instead of three memory operations per FMA.
     */
    public static void axpyRows(float[] y, int yOff0, int yOff1, float[] a, int aOff0, int aOff1, float[] x, int xOff,
                                int xStride, int t0, int t1, int n) {
        int i = 0;
        for (; i + 4 * L <= n; i += 4 * L) {
            if (yOff1 < 0) {
                sums1(y, yOff0 + i, a, aOff0, x, xOff + i, xStride, t0, t1);
            } else {
                sums2(y, yOff0 + i, yOff1 + i, a, aOff0, aOff1, x, xOff + i, xStride, t0, t1);
            }
        }
        if (i < n) {   // what is left of each row: one axpy per t, the same roundings
            for (int t = t0; t < t1; t++) {
                axpy(y, yOff0 + i, a[aOff0 + t], x, xOff + t * xStride + i, n - i);
                if (yOff1 >= 0) {
                    axpy(y, yOff1 + i, a[aOff1 + t], x, xOff + t * xStride + i, n - i);
                }
            }
        }
    }

    /**
     * Whether {@link #axpyRows4} pays: its 16 accumulators, 4 value vectors and a weight need the 32 vector
     * registers of AVX-512; with 16 (AVX2) they spill and it runs at half {@link #axpyRows}' speed.
     */
    public static final boolean FOUR_ROW_SUMS = L >= 16;

    /**
     * {@link #axpyRows} for four rows (four heads): every value vector loaded feeds 4 FMAs, and 16 chains
     * cover the FMA latency (axpyRows' 8 do not quite): about 1.5x its speed at 512 bits (see
     * {@link #FOUR_ROW_SUMS}). Each element gets the same FMAs in the same order as {@link #axpy} once per t.
     */
    public static void axpyRows4(float[] y, int yOff0, int yOff1, int yOff2, int yOff3, float[] a, int aOff0, int aOff1,
                                 int aOff2, int aOff3, float[] x, int xOff, int xStride, int t0, int t1, int n) {
        int i = 0;
        for (; i + 4 * L <= n; i += 4 * L) {
            sums4(y, yOff0 + i, yOff1 + i, yOff2 + i, yOff3 + i, a, aOff0, aOff1, aOff2, aOff3, x, xOff + i, xStride,
                    t0, t1);
        }
        if (i < n) {
            for (int t = t0; t < t1; t++) {
                int o = xOff + t * xStride + i;
                axpy(y, yOff0 + i, a[aOff0 + t], x, o, n - i);
                axpy(y, yOff1 + i, a[aOff1 + t], x, o, n - i);
                axpy(y, yOff2 + i, a[aOff2 + t], x, o, n - i);
                axpy(y, yOff3 + i, a[aOff3 + t], x, o, n - i);
            }
        }
    }

    // one small method per shape: C2 keeps vectors in registers only where the whole loop is one compiled unit

    /** 4 vectors of one row at y[yOff]: += a[aOff + t] · x[xOff + t·xStride ..], t in [t0, t1). */
    private static void sums1(float[] y, int yOff, float[] a, int aOff, float[] x, int xOff, int xStride, int t0,
            int t1) {
        FloatVector p0 = FloatVector.fromArray(S, y, yOff), p1 = FloatVector.fromArray(S, y, yOff + L);
        FloatVector p2 = FloatVector.fromArray(S, y, yOff + 2 * L), p3 = FloatVector.fromArray(S, y, yOff + 3 * L);
        for (int t = t0; t < t1; t++) {
            int o = xOff + t * xStride;
            FloatVector w = FloatVector.broadcast(S, a[aOff + t]);
            p0 = FloatVector.fromArray(S, x, o).fma(w, p0);
            p1 = FloatVector.fromArray(S, x, o + L).fma(w, p1);
            p2 = FloatVector.fromArray(S, x, o + 2 * L).fma(w, p2);
            p3 = FloatVector.fromArray(S, x, o + 3 * L).fma(w, p3);
        }
        p0.intoArray(y, yOff);
        p1.intoArray(y, yOff + L);
        p2.intoArray(y, yOff + 2 * L);
        p3.intoArray(y, yOff + 3 * L);
    }

    /** {@link #sums1} for two rows sharing every x vector. */
    private static void sums2(float[] y, int yOff0, int yOff1, float[] a, int aOff0, int aOff1, float[] x, int xOff,
                              int xStride, int t0, int t1) {
        FloatVector p0 = FloatVector.fromArray(S, y, yOff0), p1 = FloatVector.fromArray(S, y, yOff0 + L);
        FloatVector p2 = FloatVector.fromArray(S, y, yOff0 + 2 * L), p3 = FloatVector.fromArray(S, y, yOff0 + 3 * L);
        FloatVector q0 = FloatVector.fromArray(S, y, yOff1), q1 = FloatVector.fromArray(S, y, yOff1 + L);
        FloatVector q2 = FloatVector.fromArray(S, y, yOff1 + 2 * L), q3 = FloatVector.fromArray(S, y, yOff1 + 3 * L);
        for (int t = t0; t < t1; t++) {
            int o = xOff + t * xStride;
            FloatVector w = FloatVector.broadcast(S, a[aOff0 + t]), v = FloatVector.broadcast(S, a[aOff1 + t]);
            FloatVector x0 = FloatVector.fromArray(S, x, o), x1 = FloatVector.fromArray(S, x, o + L);
            FloatVector x2 = FloatVector.fromArray(S, x, o + 2 * L), x3 = FloatVector.fromArray(S, x, o + 3 * L);
            p0 = x0.fma(w, p0);
            p1 = x1.fma(w, p1);
            p2 = x2.fma(w, p2);
            p3 = x3.fma(w, p3);
            q0 = x0.fma(v, q0);
            q1 = x1.fma(v, q1);
            q2 = x2.fma(v, q2);
            q3 = x3.fma(v, q3);
        }
        p0.intoArray(y, yOff0);
        p1.intoArray(y, yOff0 + L);
        p2.intoArray(y, yOff0 + 2 * L);
        p3.intoArray(y, yOff0 + 3 * L);
        q0.intoArray(y, yOff1);
        q1.intoArray(y, yOff1 + L);
        q2.intoArray(y, yOff1 + 2 * L);
        q3.intoArray(y, yOff1 + 3 * L);
    }

    /** {@link #sums1} for four rows sharing every x vector. */
    private static void sums4(float[] y, int y0, int y1, int y2, int y3, float[] a, int a0, int a1, int a2, int a3,
                              float[] x, int xOff, int xStride, int t0, int t1) {
        FloatVector p0 = FloatVector.fromArray(S, y, y0), p1 = FloatVector.fromArray(S, y, y0 + L);
        FloatVector p2 = FloatVector.fromArray(S, y, y0 + 2 * L), p3 = FloatVector.fromArray(S, y, y0 + 3 * L);
        FloatVector q0 = FloatVector.fromArray(S, y, y1), q1 = FloatVector.fromArray(S, y, y1 + L);
        FloatVector q2 = FloatVector.fromArray(S, y, y1 + 2 * L), q3 = FloatVector.fromArray(S, y, y1 + 3 * L);
        FloatVector r0 = FloatVector.fromArray(S, y, y2), r1 = FloatVector.fromArray(S, y, y2 + L);
        FloatVector r2 = FloatVector.fromArray(S, y, y2 + 2 * L), r3 = FloatVector.fromArray(S, y, y2 + 3 * L);
        FloatVector s0 = FloatVector.fromArray(S, y, y3), s1 = FloatVector.fromArray(S, y, y3 + L);
        FloatVector s2 = FloatVector.fromArray(S, y, y3 + 2 * L), s3 = FloatVector.fromArray(S, y, y3 + 3 * L);
        for (int t = t0; t < t1; t++) {
            int o = xOff + t * xStride;
            FloatVector x0 = FloatVector.fromArray(S, x, o), x1 = FloatVector.fromArray(S, x, o + L);
            FloatVector x2 = FloatVector.fromArray(S, x, o + 2 * L), x3 = FloatVector.fromArray(S, x, o + 3 * L);
            FloatVector w = FloatVector.broadcast(S, a[a0 + t]);
            p0 = x0.fma(w, p0);
            p1 = x1.fma(w, p1);
            p2 = x2.fma(w, p2);
            p3 = x3.fma(w, p3);
            w = FloatVector.broadcast(S, a[a1 + t]);
            q0 = x0.fma(w, q0);
            q1 = x1.fma(w, q1);
            q2 = x2.fma(w, q2);
            q3 = x3.fma(w, q3);
            w = FloatVector.broadcast(S, a[a2 + t]);
            r0 = x0.fma(w, r0);
            r1 = x1.fma(w, r1);
            r2 = x2.fma(w, r2);
            r3 = x3.fma(w, r3);
            w = FloatVector.broadcast(S, a[a3 + t]);
            s0 = x0.fma(w, s0);
            s1 = x1.fma(w, s1);
            s2 = x2.fma(w, s2);
            s3 = x3.fma(w, s3);
        }
        p0.intoArray(y, y0);
        p1.intoArray(y, y0 + L);
        p2.intoArray(y, y0 + 2 * L);
        p3.intoArray(y, y0 + 3 * L);
        q0.intoArray(y, y1);
        q1.intoArray(y, y1 + L);
        q2.intoArray(y, y1 + 2 * L);
        q3.intoArray(y, y1 + 3 * L);
        r0.intoArray(y, y2);
        r1.intoArray(y, y2 + L);
        r2.intoArray(y, y2 + 2 * L);
        r3.intoArray(y, y2 + 3 * L);
        s0.intoArray(y, y3);
        s1.intoArray(y, y3 + L);
        s2.intoArray(y, y3 + 2 * L);
        s3.intoArray(y, y3 + 3 * L);
    }

    /**
     * {@code Σ a[aOff + i] · b[bOff + i]} with one accumulator over whole vectors in order, then the lanes
     * summed and a scalar tail: attention's score of one (head, position), the sums {@link #scores4x2} makes
     * for each of its pairs.
     */
    public static float dot1(float[] a, int aOff, float[] b, int bOff, int n) {
        FloatVector s = FloatVector.zero(S);
        int i = 0;
        for (; i + L <= n; i += L) {
            s = FloatVector.fromArray(S, a, aOff + i).fma(FloatVector.fromArray(S, b, bOff + i), s);
        }
        for (VectorShuffle<Float> r : FOLDS) {
            s = s.add(s.rearrange(r));
        }
        return tail(s.lane(0), a, aOff, b, bOff, i, n);
    }

    /** {@code sum} plus the scalar products of elements {@code [from, n)}. */
    private static float tail(float sum, float[] a, int aOff, float[] b, int bOff, int from, int n) {
        for (int i = from; i < n; i++) {
            sum += a[aOff + i] * b[bOff + i];
        }
        return sum;
    }

    /**
     * Scores of 4 queries (rows {@code q[qOff + k·qStride ..]}) against 2 cached keys ({@code c[cOff + j·cStride ..]}),
     * each times {@code scale}, into {@code out[outOff + k·outStride + j]}: every key vector loaded feeds 4 FMAs
     * and every query vector 2 (0.75 loads per FMA instead of 2). Each pair sums exactly as {@link #dot1}.
     */
    public static void scores4x2(float[] q, int qOff, int qStride, float[] c, int cOff, int cStride, int n, float scale,
                                 float[] out, int outOff, int outStride) {
        FloatVector s00 = FloatVector.zero(S), s01 = FloatVector.zero(S), s10 = FloatVector.zero(S),
                s11 = FloatVector.zero(S);
        FloatVector s20 = FloatVector.zero(S), s21 = FloatVector.zero(S), s30 = FloatVector.zero(S),
                s31 = FloatVector.zero(S);
        int i = 0;
        for (; i + L <= n; i += L) {
            FloatVector c0 = FloatVector.fromArray(S, c, cOff + i), c1 = FloatVector.fromArray(S, c,
                    cOff + cStride + i);
            FloatVector q0 = FloatVector.fromArray(S, q, qOff + i);
            s00 = q0.fma(c0, s00);
            s01 = q0.fma(c1, s01);
            FloatVector q1 = FloatVector.fromArray(S, q, qOff + qStride + i);
            s10 = q1.fma(c0, s10);
            s11 = q1.fma(c1, s11);
            FloatVector q2 = FloatVector.fromArray(S, q, qOff + 2 * qStride + i);
            s20 = q2.fma(c0, s20);
            s21 = q2.fma(c1, s21);
            FloatVector q3 = FloatVector.fromArray(S, q, qOff + 3 * qStride + i);
            s30 = q3.fma(c0, s30);
            s31 = q3.fma(c1, s31);
        }
        for (VectorShuffle<Float> r : FOLDS) {   // each pair's lanes summed as dot1 sums them
            s00 = s00.add(s00.rearrange(r));
            s01 = s01.add(s01.rearrange(r));
            s10 = s10.add(s10.rearrange(r));
            s11 = s11.add(s11.rearrange(r));
            s20 = s20.add(s20.rearrange(r));
            s21 = s21.add(s21.rearrange(r));
            s30 = s30.add(s30.rearrange(r));
            s31 = s31.add(s31.rearrange(r));
        }
        int q1o = qOff + qStride, q2o = qOff + 2 * qStride, q3o = qOff + 3 * qStride, c1o = cOff + cStride;
        out[outOff] = tail(s00.lane(0), q, qOff, c, cOff, i, n) * scale;
        out[outOff + 1] = tail(s01.lane(0), q, qOff, c, c1o, i, n) * scale;
        out[outOff + outStride] = tail(s10.lane(0), q, q1o, c, cOff, i, n) * scale;
        out[outOff + outStride + 1] = tail(s11.lane(0), q, q1o, c, c1o, i, n) * scale;
        out[outOff + 2 * outStride] = tail(s20.lane(0), q, q2o, c, cOff, i, n) * scale;
        out[outOff + 2 * outStride + 1] = tail(s21.lane(0), q, q2o, c, c1o, i, n) * scale;
        out[outOff + 3 * outStride] = tail(s30.lane(0), q, q3o, c, cOff, i, n) * scale;
        out[outOff + 3 * outStride + 1] = tail(s31.lane(0), q, q3o, c, c1o, i, n) * scale;
    }

    // ---- e^x in float: Cody-Waite reduction by n = round(x·log2 e), Cephes' expf polynomial on the remainder
    // (|error| within 2 ulp of e^x, checked against Math.exp by a test), the result scaled by 2^n in its exponent
    // bits. The scalar form below and the vector loops make the same float operations in the same order (fma,
    // add, the bit shift), so a value does not depend on whether it fell in a vector or in a tail, nor on the
    // vector width: a token's activations are the same in every batch, chunk and machine. Inputs are clamped to
    // [EXP_MIN, EXP_MAX], where 2^n stays a normal float (below: about 3e-38 instead of less; nothing here
    // needs e^x that small to be smaller); NaN stays NaN.
    static final float EXP_MIN = -86.5f;
    static final float EXP_MAX = 88.0f;
    private static final float LOG2E = 1.44269504f;
    private static final float ROUND = 12582912f;   // 1.5 · 2^23: x · log2 e + ROUND rounds to an integer in the low bits
    private static final float LN2_HI = 0.693359375f;
    private static final float LN2_LO = -2.12194440e-4f;
    private static final float P0 = 1.9875691500e-4f, P1 = 1.3981999507e-3f, P2 = 8.3334519073e-3f,
            P3 = 4.1665795894e-2f, P4 = 1.6666665459e-1f, P5 = 5.0000001201e-1f;

    /** {@code e^x} in float (see above): the value every vector loop here computes for a lane holding x. */
    public static float exp(float x) {
        x = Math.min(Math.max(x, EXP_MIN), EXP_MAX);
        float j = Math.fma(x, LOG2E, ROUND);
        float n = j - ROUND;
        float r = Math.fma(n, -LN2_HI, x);
        r = Math.fma(n, -LN2_LO, r);
        float p = Math.fma(P0, r, P1);
        p = Math.fma(p, r, P2);
        p = Math.fma(p, r, P3);
        p = Math.fma(p, r, P4);
        p = Math.fma(p, r, P5);
        float y = Math.fma(p, r * r, r) + 1f;
        return Float.intBitsToFloat(Float.floatToRawIntBits(y) + (Float.floatToRawIntBits(j) << 23));
    }

    /** {@code silu(x) = x / (1 + e^-x)}. */
    public static float silu(float x) {
        return x / (1f + exp(-x));
    }

    /**
     * {@code gate[gOff + i] = silu(gate[gOff + i]) · up[uOff + i]} for {@code i < n}: SwiGLU, in place; each
     * element exactly {@code silu(gate) * up}.
     */
    public static void swiglu(float[] gate, int gOff, float[] up, int uOff, int n) {
        int i = 0;
        for (; i + L <= n; i += L) {   // exp(-g) written out as in exp(float)
            FloatVector g = FloatVector.fromArray(S, gate, gOff + i);
            FloatVector x = g.neg().max(EXP_MIN).min(EXP_MAX);
            FloatVector j = x.fma(LOG2E, ROUND);
            FloatVector k = j.sub(ROUND);
            FloatVector r = k.fma(FloatVector.broadcast(S, -LN2_HI), x);
            r = k.fma(FloatVector.broadcast(S, -LN2_LO), r);
            FloatVector p = r.fma(P0, P1);
            p = p.fma(r, FloatVector.broadcast(S, P2));
            p = p.fma(r, FloatVector.broadcast(S, P3));
            p = p.fma(r, FloatVector.broadcast(S, P4));
            p = p.fma(r, FloatVector.broadcast(S, P5));
            FloatVector y = p.fma(r.mul(r), r).add(1f);
            FloatVector e = y.reinterpretAsInts().add(j.reinterpretAsInts().lanewise(VectorOperators.LSHL, 23))
                    .reinterpretAsFloats();
            g.div(e.add(1f)).mul(FloatVector.fromArray(S, up, uOff + i)).intoArray(gate, gOff + i);
        }
        for (; i < n; i++) {
            gate[gOff + i] = silu(gate[gOff + i]) * up[uOff + i];
        }
    }

    /**
     * In-place softmax of {@code x[off .. off + n)}: the maximum, {@code e^(x - max)} as {@link #exp} computes
     * it, their sum in double in index order, each value times the sum's float reciprocal.
     */
    public static void softmax(float[] x, int off, int n) {
        float max = Float.NEGATIVE_INFINITY;
        int i = 0;
        if (n >= L) {
            FloatVector m = FloatVector.fromArray(S, x, off);
            for (i = L; i + L <= n; i += L) {
                m = m.max(FloatVector.fromArray(S, x, off + i));
            }
            max = m.reduceLanes(VectorOperators.MAX);   // exact in any order
        }
        for (; i < n; i++) {
            max = Math.max(max, x[off + i]);
        }
        i = 0;
        for (; i + L <= n; i += L) {   // exp(x - max) written out as in exp(float)
            FloatVector v = FloatVector.fromArray(S, x, off + i).sub(max).max(EXP_MIN).min(EXP_MAX);
            FloatVector j = v.fma(LOG2E, ROUND);
            FloatVector k = j.sub(ROUND);
            FloatVector r = k.fma(FloatVector.broadcast(S, -LN2_HI), v);
            r = k.fma(FloatVector.broadcast(S, -LN2_LO), r);
            FloatVector p = r.fma(P0, P1);
            p = p.fma(r, FloatVector.broadcast(S, P2));
            p = p.fma(r, FloatVector.broadcast(S, P3));
            p = p.fma(r, FloatVector.broadcast(S, P4));
            p = p.fma(r, FloatVector.broadcast(S, P5));
            FloatVector y = p.fma(r.mul(r), r).add(1f);
            y.reinterpretAsInts().add(j.reinterpretAsInts().lanewise(VectorOperators.LSHL, 23)).reinterpretAsFloats()
                    .intoArray(x, off + i);
        }
        for (; i < n; i++) {
            x[off + i] = exp(x[off + i] - max);
        }
        double sum = 0;
        for (i = 0; i < n; i++) {
            sum += x[off + i];
        }
        float inv = (float) (1.0 / sum);
        i = 0;
        for (; i + L <= n; i += L) {
            FloatVector.fromArray(S, x, off + i).mul(inv).intoArray(x, off + i);
        }
        for (; i < n; i++) {
            x[off + i] *= inv;
        }
    }
}
