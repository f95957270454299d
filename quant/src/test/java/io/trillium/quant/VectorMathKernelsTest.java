package io.trillium.quant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * VectorMath's float e^x and the activations built on it (SwiGLU, softmax): e^x against Math.exp in double;
 * the vector loops lane for lane equal to the scalar form (so a value does not depend on its position in an
 * array or on the vector width: this class also runs at 256 and 128 bits); softmax against float64 math.
 */
class VectorMathKernelsTest {

    @Test
    void expIsWithinTwoUlpOfMathExpOverItsRange() {
        double worst = 0;
        float at = 0;
        for (float x = VectorMath.EXP_MIN; x <= VectorMath.EXP_MAX; x = Math.nextUp(x + 1e-5f * Math.max(1, Math.abs(x)))) {
            double want = Math.exp(x);
            double err = Math.abs(VectorMath.exp(x) - want) / Math.ulp((float) want);
            if (err > worst) {
                worst = err;
                at = x;
            }
        }
        for (float x : new float[] {0f, -0f, 1f, -1f, 0.5f, 1e-8f, -1e-8f, 0.34657359f, -0.34657359f, 10f, -10f}) {
            double err = Math.abs(VectorMath.exp(x) - Math.exp(x)) / Math.ulp((float) Math.exp(x));
            assertTrue(err <= 2, "e^" + x + ": " + VectorMath.exp(x) + " vs " + Math.exp(x));
        }
        assertTrue(worst <= 2, "worst error " + worst + " ulp at x = " + at);
        assertEquals(1f, VectorMath.exp(0f));
    }

    @Test
    void expClampsToNormalFloatsAndKeepsNaN() {
        assertEquals(VectorMath.exp(VectorMath.EXP_MIN), VectorMath.exp(-1e30f));
        assertEquals(VectorMath.exp(VectorMath.EXP_MIN), VectorMath.exp(Float.NEGATIVE_INFINITY));
        assertTrue(VectorMath.exp(-1000f) > 0 && VectorMath.exp(-1000f) < 4e-38f, "" + VectorMath.exp(-1000f));
        assertTrue(Float.isFinite(VectorMath.exp(1000f)) && VectorMath.exp(1000f) > 1.6e38f, "" + VectorMath.exp(1000f));
        assertTrue(Float.isNaN(VectorMath.exp(Float.NaN)));
        assertEquals(0f, VectorMath.silu(-1000f), 1e-30f);
        assertEquals(1000f, VectorMath.silu(1000f));
    }

    @Test
    void swigluLanesEqualTheScalarFormAtEveryOffsetAndLength() {
        SplittableRandom rnd = new SplittableRandom(7);
        for (int n = 0; n < 150; n++) {
            int gOff = rnd.nextInt(5), uOff = rnd.nextInt(5);
            float[] g = new float[gOff + n], u = new float[uOff + n];
            for (int i = 0; i < n; i++) {
                g[gOff + i] = (float) (rnd.nextDouble(-1, 1) * (i % 7 == 0 ? 200 : 8));
                u[uOff + i] = (float) rnd.nextGaussian();
            }
            float[] want = new float[n];
            for (int i = 0; i < n; i++) {
                float x = g[gOff + i];
                want[i] = VectorMath.silu(x) * u[uOff + i];
                double ref = x / (1 + Math.exp(-(double) x)) * u[uOff + i];
                assertEquals(ref, want[i], 1e-6 * Math.abs(ref) + 1e-30, "silu(" + x + ")");
            }
            VectorMath.swiglu(g, gOff, u, uOff, n);
            for (int i = 0; i < n; i++) {
                assertEquals(Float.floatToRawIntBits(want[i]), Float.floatToRawIntBits(g[gOff + i]),
                        "n " + n + ", element " + i + ": " + g[gOff + i] + " vs " + want[i]);
            }
        }
    }

    @Test
    void softmaxMatchesFloat64AndItsScalarForm() {
        SplittableRandom rnd = new SplittableRandom(11);
        for (int n = 1; n < 300; n += n < 40 ? 1 : 17) {
            int off = rnd.nextInt(4);
            float[] x = new float[off + n];
            for (int i = 0; i < n; i++) {
                x[off + i] = (float) (rnd.nextGaussian() * (n % 3 == 0 ? 30 : 3));
            }
            float max = Float.NEGATIVE_INFINITY;
            for (int i = 0; i < n; i++) {
                max = Math.max(max, x[off + i]);
            }
            double refSum = 0, sum = 0;
            float[] e = new float[n];
            for (int i = 0; i < n; i++) {
                refSum += Math.exp(x[off + i] - max);   // the difference in float, as softmax forms it
                e[i] = VectorMath.exp(x[off + i] - max);
                sum += e[i];
            }
            float inv = (float) (1.0 / sum);
            float[] before = x.clone();
            VectorMath.softmax(x, off, n);
            double total = 0;
            for (int i = 0; i < n; i++) {
                double ref = Math.exp(before[off + i] - max) / refSum;
                assertEquals(ref, x[off + i], 1e-6 * ref + 1e-37, "n " + n + ", element " + i);
                assertEquals(Float.floatToRawIntBits(e[i] * inv), Float.floatToRawIntBits(x[off + i]), "n " + n + ", " + i);
                total += x[off + i];
            }
            assertEquals(1.0, total, 1e-5);
            for (int i = 0; i < off; i++) {
                assertEquals(before[i], x[i], "outside the range: untouched");
            }
        }
    }

    /** Attention's register tiles: every (query, key) pair exactly dot1 · scale, every value row exactly axpy per t. */
    @Test
    void attentionTilesEqualTheirOnePairForms() {
        SplittableRandom rnd = new SplittableRandom(3);
        for (int n : new int[] {5, 16, 64, 576, 581}) {
            int qStride = n + 3, cStride = n + 7;
            float[] q = new float[4 * qStride], c = new float[4 * cStride];
            for (int i = 0; i < q.length; i++) {
                q[i] = (float) rnd.nextGaussian();
            }
            for (int i = 0; i < c.length; i++) {
                c[i] = (float) rnd.nextGaussian();
            }
            float[] s42 = new float[4 * 5];
            VectorMath.scores4x2(q, 0, qStride, c, 0, cStride, n, 0.125f, s42, 0, 5);
            VectorMath.scores4x2(q, 0, qStride, c, 2 * cStride, cStride, n, 0.125f, s42, 2, 5);
            for (int k = 0; k < 4; k++) {
                for (int j = 0; j < 4; j++) {
                    float want = VectorMath.dot1(q, k * qStride, c, j * cStride, n) * 0.125f;
                    double ref = 0;
                    for (int i = 0; i < n; i++) {
                        ref += (double) q[k * qStride + i] * c[j * cStride + i];
                    }
                    assertEquals(ref * 0.125, want, 1e-4 * Math.sqrt(n), "n " + n);
                    assertEquals(Float.floatToRawIntBits(want), Float.floatToRawIntBits(s42[k * 5 + j]), "4x2 n " + n);
                }
            }
            int t1 = 4;
            float[] a = new float[4 * t1];
            for (int i = 0; i < a.length; i++) {
                a[i] = (float) rnd.nextDouble();
            }
            float[] y4 = new float[4 * n], want = new float[4 * n];
            for (int i = 0; i < y4.length; i++) {
                y4[i] = want[i] = (float) rnd.nextGaussian();
            }
            VectorMath.axpyRows4(y4, 0, n, 2 * n, 3 * n, a, 0, t1, 2 * t1, 3 * t1, c, 0, cStride, 0, t1, n);
            for (int k = 0; k < 4; k++) {
                for (int t = 0; t < t1; t++) {
                    VectorMath.axpy(want, k * n, a[k * t1 + t], c, t * cStride, n);
                }
            }
            for (int i = 0; i < y4.length; i++) {
                assertEquals(Float.floatToRawIntBits(want[i]), Float.floatToRawIntBits(y4[i]), "axpyRows4 n " + n + " at " + i);
            }
        }
    }
}
