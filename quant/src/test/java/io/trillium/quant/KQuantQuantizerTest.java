package io.trillium.quant;

import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/** Quantize -> dequantize properties of the Q4_K, Q6_K and Q8_K quantizers. */
class KQuantQuantizerTest {
    static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    static float[] roundTrip(GgmlType t, float[] x) {
        MemorySegment q = Arena.ofAuto().allocate(t.bytesFor(x.length));
        Kernels.quantizer(t).quantize(x, 0, q, 0, x.length);
        float[] y = new float[x.length];
        Kernels.reference(t).dequantize(q, 0, y, 0, x.length);
        return y;
    }

    static float[] gaussian(int n, Random r, float scale) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) r.nextGaussian() * scale;
        }
        return x;
    }

    /** RMS error over RMS of x. */
    static double relRms(float[] x, float[] y) {
        double e = 0, s = 0;
        for (int i = 0; i < x.length; i++) {
            e += (x[i] - y[i]) * (double) (x[i] - y[i]);
            s += x[i] * (double) x[i];
        }
        return Math.sqrt(e / s);
    }

    @Test
    void roundTripErrorShrinksWithBits() {
        Random r = new Random(5);
        for (float scale : new float[] {1e-3f, 1f, 300f}) {
            float[] x = gaussian(4096, r, scale);
            double e4 = relRms(x, roundTrip(GgmlType.Q4_K, x));
            double e6 = relRms(x, roundTrip(GgmlType.Q6_K, x));
            double e8 = relRms(x, roundTrip(GgmlType.Q8_K, x));
            // 4-bit with 6-bit scale/min per 32: ~ 1/15 of the range per step; gaussian rms error ~0.1
            assertTrue(e4 < 0.12, "Q4_K rel rms " + e4);
            assertTrue(e6 < 0.035, "Q6_K rel rms " + e6);
            assertTrue(e8 < 0.012, "Q8_K rel rms " + e8);
            assertTrue(e6 < e4 && e8 < e6, "error must drop with bits: " + e4 + " " + e6 + " " + e8);
        }
    }

    @Test
    void q8kElementErrorIsHalfAStep() {
        Random r = new Random(9);
        float[] x = gaussian(1024, r, 2f);
        MemorySegment q = Arena.ofAuto().allocate(GgmlType.Q8_K.bytesFor(x.length));
        Kernels.quantizer(GgmlType.Q8_K).quantize(x, 0, q, 0, x.length);
        float[] y = new float[x.length];
        Kernels.reference(GgmlType.Q8_K).dequantize(q, 0, y, 0, x.length);
        for (int b = 0; b < x.length / 256; b++) {
            float d = q.get(F32, b * 292L);
            float amax = 0;
            for (int j = 0; j < 256; j++) {
                amax = Math.max(amax, Math.abs(x[256 * b + j]));
            }
            assertEquals(amax / 127, Math.abs(d), amax * 1e-6, "d = max/127");
            for (int j = 0; j < 256; j++) {
                assertTrue(Math.abs(x[256 * b + j] - y[256 * b + j]) <= 0.5f * Math.abs(d) * 1.0001f,
                        "element " + (256 * b + j));
            }
        }
    }

    @Test
    void q8kBsumsAreSumsOfQs() {
        Random r = new Random(13);
        float[] x = gaussian(2048, r, 0.7f);
        x[5] = 0; // one block all zero: d = 0, qs = 0, bsums = 0
        for (int j = 512; j < 768; j++) {
            x[j] = 0;
        }
        MemorySegment q = Arena.ofAuto().allocate(GgmlType.Q8_K.bytesFor(x.length));
        q.fill((byte) 0x55);
        Kernels.quantizer(GgmlType.Q8_K).quantize(x, 0, q, 0, x.length);
        for (int b = 0; b < x.length / 256; b++) {
            long o = b * 292L;
            for (int g = 0; g < 16; g++) {
                int sum = 0;
                for (int i = 0; i < 16; i++) {
                    sum += q.get(ValueLayout.JAVA_BYTE, o + 4 + 16 * g + i);
                }
                assertEquals(sum, q.get(I16, o + 260 + 2 * g), "block " + b + " group " + g);
            }
        }
        assertEquals(0f, q.get(F32, 2 * 292L));
    }

    @Test
    void q8kMatchesGgmlRoundingAndSign() {
        // ggml: iscale = -127/max where max is the signed value of largest magnitude; q = nearest_int
        // (round half to even) of iscale*x, clamped to 127
        float[] x = new float[256];
        x[0] = -127f;        // max = -127 -> iscale = 1, d = 1
        x[1] = 0.5f;         // ties round to even: 0
        x[2] = 1.5f;         // 2
        x[3] = 2.5f;         // 2
        x[4] = -1.5f;        // iscale * x = -1.5 -> -2
        x[5] = 126.6f;       // 127 (clamp holds at 127)
        MemorySegment q = Arena.ofAuto().allocate(292);
        Kernels.quantizer(GgmlType.Q8_K).quantize(x, 0, q, 0, 256);
        int[] want = {-127, 0, 2, 2, -2, 127};
        for (int i = 0; i < want.length; i++) {
            assertEquals(want[i], q.get(ValueLayout.JAVA_BYTE, 4 + i), "q[" + i + "]");
        }
        assertEquals(1f, q.get(F32, 0));
    }

    @Test
    void zeroAndConstantBlocks() {
        for (GgmlType t : new GgmlType[] {GgmlType.Q4_K, GgmlType.Q6_K, GgmlType.Q8_K}) {
            for (float v : roundTrip(t, new float[512])) {
                assertEquals(0f, v, 0f, t + " zeros"); // -0.0 allowed: ggml gives 0 * (q - 32)
            }
            float[] c = new float[512];
            java.util.Arrays.fill(c, 0.25f);
            float[] y = roundTrip(t, c);
            for (float v : y) {
                assertEquals(0.25f, v, 0.25f * 0.05f, t + " constant");
            }
        }
    }
}
