package io.trillium.quant;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The C attention products ({@link NativeAttention}) of every variant this CPU runs: against float64 math, against
 * the Java kernels' bits where the lane counts agree, a long cache in several calls equal to one, offsets and
 * strides honoured, nothing outside the outputs written, bad arguments refused, and no allocation once warm.
 */
class NativeAttentionTest {

    static List<NativeAttention> variants() {
        return NativeAttention.variants();
    }

    @Test
    void theLibraryHasTheKernelsWhereItLoaded() {
        Assumptions.assumeTrue(Kernels.nativeStatus().startsWith("native kernels:"), Kernels.nativeStatus());
        assertTrue(NativeAttention.best() != null, "native kernels loaded without attention: " + Kernels.nativeStatus());
    }

    private static float[] gaussian(SplittableRandom rnd, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) rnd.nextGaussian();
        }
        return a;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("variants")
    void scoresMatchFloat64AndDot1(NativeAttention k) {
        SplittableRandom rnd = new SplittableRandom(3);
        for (int n : new int[] {576, 100, 8, 5}) {   // whole vectors, a tail, one vector, only a tail
            for (int rows : new int[] {1, 5, 6, 7, 13}) {
                for (int npos : new int[] {1, 3, 4, 9}) {
                    int qStride = n + 3, cStride = n + 1, outStride = npos + 2;
                    float[] q = gaussian(rnd, 2 + rows * qStride), c = gaussian(rnd, 5 + npos * cStride);
                    float[] out = new float[1 + rows * outStride];
                    java.util.Arrays.fill(out, -7f);
                    k.scores(q, 2, qStride, rows, c, 5, cStride, npos, n, 0.3f, out, 1, outStride);
                    for (int r = 0; r < rows; r++) {
                        for (int p = 0; p < outStride; p++) {
                            float got = out[1 + r * outStride + p];
                            if (p >= npos) {
                                assertEquals(-7f, got, "written outside the scores at row " + r + ", column " + p);
                                continue;
                            }
                            double want = 0;
                            for (int i = 0; i < n; i++) {
                                want += (double) q[2 + r * qStride + i] * c[5 + p * cStride + i];
                            }
                            String at = k + ": n " + n + ", " + rows + " rows, " + npos + " positions, (" + r + ", " + p + ")";
                            assertEquals(want * 0.3, got, 1e-5 * (1 + Math.sqrt(n)), at);
                            if (k.lanes() == VectorMath.lanes()) {
                                float dot1 = VectorMath.dot1(q, 2 + r * qStride, c, 5 + p * cStride, n) * 0.3f;
                                assertEquals(Float.floatToRawIntBits(dot1), Float.floatToRawIntBits(got), at + ": not dot1's bits");
                            }
                        }
                    }
                }
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("variants")
    void valuesMatchFloat64AndAxpyAndContinueAcrossCalls(NativeAttention k) {
        SplittableRandom rnd = new SplittableRandom(4);
        for (int n : new int[] {512, 72, 13}) {   // whole 4-vector tiles, single vectors, scalars
            for (int rows : new int[] {1, 2, 6, 7}) {
                for (int npos : new int[] {0, 1, 5, 200}) {   // 200: two of C's blocks of 128 positions
                    int oStride = n + 2, attStride = npos + 3, cStride = n + 9;
                    float[] att = gaussian(rnd, 1 + rows * attStride), c = gaussian(rnd, 4 + Math.max(npos, 1) * cStride);
                    float[] o = new float[rows * oStride];
                    java.util.Arrays.fill(o, 5f);
                    k.values(o, 0, oStride, rows, att, 1, attStride, c, 4, cStride, npos, n, false);
                    float[] axpy = new float[n];
                    for (int r = 0; r < rows; r++) {
                        java.util.Arrays.fill(axpy, 0f);
                        for (int p = 0; p < npos; p++) {
                            VectorMath.axpy(axpy, 0, att[1 + r * attStride + p], c, 4 + p * cStride, n);
                        }
                        for (int j = 0; j < oStride; j++) {
                            float got = o[r * oStride + j];
                            String at = k + ": n " + n + ", " + rows + " rows, " + npos + " positions, (" + r + ", " + j + ")";
                            if (j >= n) {
                                assertEquals(5f, got, at + ": written outside the row");
                                continue;
                            }
                            double want = 0;
                            for (int p = 0; p < npos; p++) {
                                want += (double) att[1 + r * attStride + p] * c[4 + p * cStride + j];
                            }
                            assertEquals(want, got, 1e-5 * (1 + npos), at);
                            if (k.lanes() == VectorMath.lanes()) {
                                assertEquals(Float.floatToRawIntBits(axpy[j]), Float.floatToRawIntBits(got), at + ": not axpy's bits");
                            }
                        }
                    }
                    if (npos > 1) {   // the first positions, then the rest with add: the same bits as one call
                        float[] split = new float[rows * oStride];
                        int first = npos / 2 + 1;
                        k.values(split, 0, oStride, rows, att, 1, attStride, c, 4, cStride, first, n, false);
                        k.values(split, 0, oStride, rows, att, 1 + first, attStride, c, 4 + first * cStride, cStride,
                                npos - first, n, true);
                        for (int r = 0; r < rows; r++) {
                            for (int j = 0; j < n; j++) {
                                assertEquals(Float.floatToRawIntBits(o[r * oStride + j]),
                                        Float.floatToRawIntBits(split[r * oStride + j]), k + ": split at " + first + ", row " + r);
                            }
                        }
                    }
                }
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("variants")
    void badArgumentsAreRefused(NativeAttention k) {
        float[] q = new float[64], c = new float[64], out = new float[64];
        assertThrows(IllegalArgumentException.class,
                () -> k.scores(q, 0, 8, 1, c, 0, 8, NativeAttention.MAX_POSITIONS + 1, 8, 1f, out, 0, 8));
        assertThrows(IndexOutOfBoundsException.class, () -> k.scores(q, 0, 8, 9, c, 0, 8, 1, 8, 1f, out, 0, 1));
        assertThrows(IndexOutOfBoundsException.class, () -> k.scores(q, 0, 8, 1, c, 0, 8, 9, 8, 1f, out, 0, 9));
        assertThrows(IndexOutOfBoundsException.class, () -> k.values(out, 0, 8, 9, q, 0, 1, c, 0, 8, 1, 8, false));
        assertThrows(IndexOutOfBoundsException.class, () -> k.values(out, 60, 8, 1, q, 0, 1, c, 0, 8, 1, 8, false));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("variants")
    void warmCallsAllocateNothing(NativeAttention k) {
        var mx = (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
        Assumptions.assumeTrue(mx.isThreadAllocatedMemorySupported() && mx.isThreadAllocatedMemoryEnabled());
        float[] q = new float[8 * 64], c = new float[16 * 64], att = new float[8 * 16], o = new float[8 * 64];
        long best = Long.MAX_VALUE;
        for (int round = 0; round < 5; round++) {
            long before = mx.getCurrentThreadAllocatedBytes();
            for (int i = 0; i < 20_000; i++) {
                k.scores(q, 0, 64, 8, c, 0, 64, 16, 64, 1f, att, 0, 16);
                k.values(o, 0, 64, 8, att, 0, 16, c, 0, 64, 16, 64, false);
            }
            best = Math.min(best, mx.getCurrentThreadAllocatedBytes() - before);
        }
        assertTrue(best < 1000, k + ": 20000 warm call pairs allocated " + best + " bytes at best");
    }
}
