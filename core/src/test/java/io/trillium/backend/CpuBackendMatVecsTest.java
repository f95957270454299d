package io.trillium.backend;

import io.trillium.fixtures.Fixtures;
import io.trillium.quant.GgmlType;
import io.trillium.quant.Kernels;
import io.trillium.quant.Numerics;
import io.trillium.quant.Tensor;
import io.trillium.quant.VectorMath;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Several mat-vecs as one loop over all of their rows (a decode step's experts): each output is bit for bit
 * the backend's own mat-vec of that matrix, and the fused SwiGLU pairs the mat-vecs followed by SwiGLU, on
 * one thread and over the pool (large enough to be split), for mixed types, shared and distinct inputs.
 */
class CpuBackendMatVecsTest {

    private static Tensor matrix(GgmlType t, int n, int rows, Random r, Arena arena) {
        float[] v = new float[n * rows];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) r.nextGaussian();
        }
        MemorySegment d = arena.allocate(t.bytesFor(n) * rows, 64);
        Kernels.quantizer(t).quantize(v, 0, d, 0, v.length);
        return new Tensor(t + "-" + rows, t, new long[] {n, rows}, d);
    }

    private static float[] vector(int n, Random r) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) r.nextGaussian();
        }
        return v;
    }

    /**
     * Bit for bit on the integer route (native kernels or the Java integer kernels: integer sums); the float
     * kernels' lane sums may round differently before and after the JIT compiles them, so within 1e-6 there.
     */
    private static void same(float[] want, float[] got, Numerics numerics, GgmlType t, String what) {
        if (numerics == Numerics.QUANTIZED && CpuBackend.integerRoute(t) != null) {
            assertArrayEquals(want, got, what);
        } else {
            assertTrue(Fixtures.relL2(want, got) <= 1e-6, what + ": rel-L2 " + Fixtures.relL2(want, got));
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"exact", "q8"})
    void manyMatVecsAreEachMatVecBitForBit(String mode) {
        Numerics numerics = mode.equals("q8") ? Numerics.QUANTIZED : Numerics.EXACT;
        Random r = new Random(5);
        try (Arena arena = Arena.ofShared(); CpuBackend one = new CpuBackend(1, numerics);
             CpuBackend two = new CpuBackend(2, numerics)) {
            int n = 1024;
            GgmlType[] types = {GgmlType.Q4_K, GgmlType.Q6_K, GgmlType.Q8_0, GgmlType.F32, GgmlType.Q4_K};
            int[] rows = {768, 257, 130, 64, 999};
            Tensor[] w = new Tensor[types.length];
            float[][] x = new float[types.length][];
            float[] shared = vector(n, r);
            for (int i = 0; i < w.length; i++) {
                w[i] = matrix(types[i], n, rows[i], r, arena);
                x[i] = i % 2 == 0 ? shared : vector(n, r);   // an input shared by several matrices is quantized once
            }
            for (CpuBackend b : new CpuBackend[] {one, two}) {
                float[][] got = new float[w.length][];
                for (int i = 0; i < w.length; i++) {
                    got[i] = new float[rows[i]];
                }
                b.matVecs(w, x, got, w.length);
                for (int i = 0; i < w.length; i++) {
                    float[] want = new float[rows[i]];
                    b.matVec(w[i], x[i], 0, want, 0);
                    same(want, got[i], numerics, types[i], types[i] + " " + mode + " on " + b.threads() + " threads");
                }
                // gate/up pairs with SwiGLU: mat-vecs, then VectorMath.swiglu
                Tensor[] gate = {w[0], w[4]};
                Tensor[] up = {matrix(GgmlType.Q4_K, n, 768, r, arena), matrix(GgmlType.Q6_K, n, 999, r, arena)};
                float[][] in = {shared, x[3]};
                float[][] g = {new float[768], new float[999]};
                float[][] u = {new float[768], new float[999]};
                b.swigluMatVecs(gate, up, in, g, u, 2);
                for (int i = 0; i < 2; i++) {
                    int m = Math.toIntExact(gate[i].rowCount());
                    float[] wg = new float[m];
                    float[] wu = new float[m];
                    b.matVec(gate[i], in[i], 0, wg, 0);
                    b.matVec(up[i], in[i], 0, wu, 0);
                    VectorMath.swiglu(wg, 0, wu, 0, m);
                    same(wg, g[i], numerics, up[i].type(), "SwiGLU pair " + i + " " + mode + " on " + b.threads()
                            + " threads");
                }
                Tensor[] bad = {w[0]};
                assertThrows(IllegalArgumentException.class,
                        () -> b.swigluMatVecs(bad, new Tensor[] {w[2]}, new float[][] {shared}, g, u, 1));
            }
        }
    }
}
