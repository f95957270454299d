package io.trillium.quant;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
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

    /** {@code Σ a[aOff + i] · b[bOff + i]} over {@code n} values. */
    public static float dot(float[] a, int aOff, float[] b, int bOff, int n) {
        FloatVector s0 = FloatVector.zero(S), s1 = FloatVector.zero(S), s2 = FloatVector.zero(S), s3 = FloatVector.zero(S);
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
        float s = s0.add(s1).add(s2.add(s3)).reduceLanes(VectorOperators.ADD);
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
}
