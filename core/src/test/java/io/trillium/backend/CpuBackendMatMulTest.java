package io.trillium.backend;

import io.trillium.quant.Numerics;
import io.trillium.fixtures.Fixtures;
import io.trillium.gguf.GgufFile;
import io.trillium.quant.GgmlType;
import io.trillium.quant.Kernels;
import io.trillium.quant.Tensor;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The batched product (prefill) against the scalar reference kernel token by token, for every weight
 * type of ggml's own blocks (type-zoo.gguf), with offsets and strides on both sides, on one thread and
 * split over the pool, float and int8 activations; and the mat-vec with offsets on the int8 route.
 */
class CpuBackendMatMulTest {

    @ParameterizedTest
    @ValueSource(strings = {"exact", "q8"})
    void batchedProductIsTheReferenceMatVecPerToken(String mode) throws Exception {
        boolean q8 = mode.equals("q8");
        Random r = new Random(3);
        try (GgufFile zoo = GgufFile.open(Fixtures.models().resolve("type-zoo.gguf"));
             CpuBackend one = new CpuBackend(1, q8 ? Numerics.QUANTIZED : Numerics.EXACT); CpuBackend two = new CpuBackend(2, q8 ? Numerics.QUANTIZED : Numerics.EXACT)) {
            for (GgmlType t : new GgmlType[] {GgmlType.F32, GgmlType.F16, GgmlType.BF16, GgmlType.Q8_0, GgmlType.Q4_0,
                    GgmlType.Q5_0, GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K, GgmlType.Q3_K, GgmlType.IQ4_XS}) {
                Tensor w = zoo.tensor(t.name() + ".weight");
                int n = Math.toIntExact(w.rowLength());
                int rows = Math.toIntExact(w.rowCount());
                int tokens = 11, xOff = 5, xStride = n + 3, yOff = 7, yStride = rows + 2;
                float[] x = new float[xOff + tokens * xStride];
                for (int i = 0; i < x.length; i++) {
                    x[i] = (float) r.nextGaussian();
                }
                float[] want = new float[yOff + tokens * yStride];
                float[] row = new float[rows];
                for (int k = 0; k < tokens; k++) {
                    float[] xt = java.util.Arrays.copyOfRange(x, xOff + k * xStride, xOff + k * xStride + n);
                    Kernels.scalar(t).matVec(w.data(), 0, w.rowBytes(), xt, n, row, 0, rows);
                    System.arraycopy(row, 0, want, yOff + k * yStride, rows);
                }
                for (CpuBackend b : new CpuBackend[] {one, two}) {
                    float[] got = new float[want.length];
                    b.matMul(w, x, xOff, xStride, got, yOff, yStride, tokens);
                    double rel = Fixtures.relL2(want, got);
                    // int8 activations move the result by the activation rounding (ggml's own numerics)
                    assertTrue(rel <= (q8 ? 2e-2 : 1e-5), t + " " + mode + " on " + b.threads() + " threads: rel-L2 " + rel);
                    for (int k = 0; k < tokens; k++) {   // the gaps between the tokens' outputs stay untouched
                        assertEquals(0f, got[yOff + k * yStride + rows], t + ": wrote outside token " + k + "'s rows");
                    }
                    // the same as this backend's own mat-vec of each token, with offsets
                    float[] each = new float[want.length];
                    for (int k = 0; k < tokens; k++) {
                        b.matVec(w, x, xOff + k * xStride, each, yOff + k * yStride);
                    }
                    if (q8 && CpuBackend.integerRoute(t) != null) {
                        // llama.cpp's numerics: a token's result does not depend on its batch, bit for bit
                        assertArrayEquals(each, got, t + " " + mode + " on " + b.threads() + " threads: matMul vs matVec");
                    } else {
                        assertTrue(Fixtures.relL2(each, got) <= 1e-6, t + " " + mode + ": matMul vs matVec rel-L2 "
                                + Fixtures.relL2(each, got));
                    }
                }
            }
        }
    }
}
