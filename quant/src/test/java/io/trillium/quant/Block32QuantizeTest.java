package io.trillium.quant;

import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Quantizers of the 32-block family and the float types: ggml's reference algorithms. */
class Block32QuantizeTest {

    static float[] randomBlocks(int n, Random rnd) {
        float[] x = new float[n];
        for (int b = 0; b < n; b += 32) {
            double scale = Math.pow(10, rnd.nextInt(12) - 6);
            for (int j = 0; j < 32; j++) {
                x[b + j] = (float) (rnd.nextGaussian() * scale);
            }
        }
        // a zero block and a constant block
        for (int j = 0; j < 32; j++) {
            x[j] = 0f;
            x[32 + j] = -3.25f;
        }
        return x;
    }

    static byte qs(MemorySegment seg, long off) {
        return seg.get(ValueLayout.JAVA_BYTE, off);
    }

    @Test
    void q8_0RoundTripWithinHalfAStep() {
        Random rnd = new Random(1);
        int n = 32 * 200;
        float[] x = randomBlocks(n, rnd);
        MemorySegment q = MemorySegment.ofArray(new byte[(int) GgmlType.Q8_0.bytesFor(n) + 3]);
        Kernels.quantizer(GgmlType.Q8_0).quantize(x, 0, q, 3, n);
        float[] y = Block32Data.dequantize(GgmlType.Q8_0, q, 3, n);
        for (int b = 0; b < n / 32; b++) {
            float amax = 0;
            int arg = 0;
            for (int j = 0; j < 32; j++) {
                if (Math.abs(x[b * 32 + j]) > amax) {
                    amax = Math.abs(x[b * 32 + j]);
                    arg = j;
                }
            }
            float d = amax / 127;
            long blk = 3 + b * 34L;
            assertEquals(Float.floatToFloat16(d), q.get(Block32Data.LE_SHORT, blk), "block " + b + " stores fp16(amax/127)");
            if (amax > 0) {
                assertEquals(127, Math.abs(qs(q, blk + 2 + arg)), "amax maps to +-127 in block " + b);
            }
            // half a step, plus the fp16 rounding of d (coarse when d is subnormal) across 127 steps
            double dErr = Math.abs(Float.float16ToFloat(Float.floatToFloat16(d)) - (double) d);
            double tol = (d / 2 + 127 * dErr) * (1 + 1e-6) + 1e-45;
            for (int j = 0; j < 32; j++) {
                int i = b * 32 + j;
                assertTrue(Math.abs(x[i] - y[i]) <= tol, "block " + b + " el " + j + ": " + x[i] + " -> " + y[i]);
                assertTrue(Math.abs(qs(q, blk + 2 + j)) <= 127);
            }
        }
    }

    @Test
    void q8_0RoundsHalfAwayFromZeroLikeCRoundf() {
        float[] x = new float[32];
        x[0] = 127f; // d = 1, id = 1
        x[1] = 2.5f;
        x[2] = -2.5f;
        x[3] = 0.5f;
        x[4] = -0.5f;
        x[5] = -126.5f;
        x[6] = 0.49999997f;
        MemorySegment q = MemorySegment.ofArray(new byte[34]);
        Kernels.quantizer(GgmlType.Q8_0).quantize(x, 0, q, 0, 32);
        assertEquals(0x3C00, q.get(Block32Data.LE_SHORT, 0));
        int[] want = {127, 3, -3, 1, -1, -127, 0};
        for (int j = 0; j < want.length; j++) {
            assertEquals(want[j], qs(q, 2 + j), "el " + j);
        }
    }

    @Test
    void q4_0RoundTripWithinHalfAStep() {
        Random rnd = new Random(2);
        int n = 32 * 200;
        float[] x = randomBlocks(n, rnd);
        MemorySegment q = MemorySegment.ofArray(new byte[(int) GgmlType.Q4_0.bytesFor(n)]);
        Kernels.quantizer(GgmlType.Q4_0).quantize(x, 0, q, 0, n);
        float[] y = Block32Data.dequantize(GgmlType.Q4_0, q, 0, n);
        for (int b = 0; b < n / 32; b++) {
            float amax = 0;
            float max = 0;
            int arg = 0;
            for (int j = 0; j < 32; j++) {
                if (Math.abs(x[b * 32 + j]) > amax) {
                    amax = Math.abs(x[b * 32 + j]);
                    max = x[b * 32 + j];
                    arg = j;
                }
            }
            float d = max / -8;
            long blk = b * 18L;
            assertEquals(Float.floatToFloat16(d), q.get(Block32Data.LE_SHORT, blk), "block " + b);
            if (amax > 0) {
                int byteAt = qs(q, blk + 2 + (arg & 15)) & 0xFF;
                int nibble = arg < 16 ? byteAt & 0xF : byteAt >> 4;
                assertEquals(0, nibble, "the signed max maps to -8 in block " + b);
            }
            float ad = Math.abs(d);
            double dErr = Math.abs(Float.float16ToFloat(Float.floatToFloat16(d)) - (double) d);
            for (int j = 0; j < 32; j++) {
                int i = b * 32 + j;
                // values past +7.5 steps (opposite sign of max) are clamped to 15: up to a whole step
                double steps = d == 0 ? 0 : x[i] / d;
                double tol = ((steps > 7.5 ? ad : ad / 2) + 8 * dErr) * (1 + 1e-6) + 1e-45;
                assertTrue(Math.abs(x[i] - y[i]) <= tol, "block " + b + " el " + j + ": " + x[i] + " -> " + y[i]);
            }
        }
    }

    @Test
    void f32RoundTripIsIdentity() {
        Random rnd = new Random(3);
        float[] x = new float[77];
        for (int i = 0; i < x.length; i++) {
            x[i] = Block32Data.randomFloat(rnd);
        }
        x[0] = Float.NaN;
        x[1] = Float.NEGATIVE_INFINITY;
        x[2] = -0f;
        MemorySegment q = MemorySegment.ofArray(new byte[4 * x.length + 1]);
        Kernels.quantizer(GgmlType.F32).quantize(x, 0, q, 1, x.length);
        float[] y = Block32Data.dequantize(GgmlType.F32, q, 1, x.length);
        for (int i = 0; i < x.length; i++) {
            assertEquals(Float.floatToRawIntBits(x[i]), Float.floatToRawIntBits(y[i]));
        }
    }

    @Test
    void f16RoundsToNearestEven() {
        Random rnd = new Random(4);
        int n = 1000;
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) (rnd.nextGaussian() * Math.pow(2, rnd.nextInt(40) - 28));
        }
        x[0] = 1f + 0x1p-11f;      // tie: to even (1.0)
        x[1] = 1f + 3 * 0x1p-11f;  // tie: to even (1 + 2^-9)
        x[2] = 65520f;             // rounds to inf
        x[3] = 0x1p-25f;           // tie with 0 and the smallest subnormal: to even (0)
        MemorySegment q = MemorySegment.ofArray(new byte[2 * n]);
        Kernels.quantizer(GgmlType.F16).quantize(x, 0, q, 0, n);
        float[] y = Block32Data.dequantize(GgmlType.F16, q, 0, n);
        assertEquals(1f, y[0]);
        assertEquals(1f + 0x1p-9f, y[1]);
        assertEquals(Float.POSITIVE_INFINITY, y[2]);
        assertEquals(0f, y[3]);
        for (int i = 4; i < n; i++) {
            float a = Math.abs(x[i]);
            double halfUlp = a < 0x1p-14f ? 0x1p-25 : Math.ulp(Float.float16ToFloat(Float.floatToFloat16(a))) * 0x1p13 / 2;
            if (Float.isFinite(y[i])) {
                assertTrue(Math.abs(x[i] - y[i]) <= halfUlp, x[i] + " -> " + y[i]);
            }
        }
    }

    @Test
    void bf16RoundsToNearestEvenAndQuietsNaN() {
        float[] x = {
            1f + 0x1p-8f,             // tie: to even (1.0)
            1f + 3 * 0x1p-8f,         // tie: to even (1 + 2^-6)
            1f + 0x1p-8f + 0x1p-20f,  // above the tie: up
            Float.intBitsToFloat(0x7F800001), // signalling NaN: forced quiet
            Float.POSITIVE_INFINITY,
            Float.MAX_VALUE,          // rounds up to inf
            Float.MIN_VALUE,          // subnormal: kept (rounds to 0 by RNE), not a special case
            Float.intBitsToFloat(0x00018000), // subnormal tie: to even
            -2.5f,
        };
        MemorySegment q = MemorySegment.ofArray(new byte[2 * x.length]);
        Kernels.quantizer(GgmlType.BF16).quantize(x, 0, q, 0, x.length);
        float[] y = Block32Data.dequantize(GgmlType.BF16, q, 0, x.length);
        assertEquals(1f, y[0]);
        assertEquals(1f + 0x1p-6f, y[1]);
        assertEquals(1f + 0x1p-7f, y[2]);
        assertEquals(0x7FC0, q.get(Block32Data.LE_SHORT, 6) & 0xFFFF);
        assertTrue(Float.isNaN(y[3]));
        assertEquals(Float.POSITIVE_INFINITY, y[4]);
        assertEquals(Float.POSITIVE_INFINITY, y[5]);
        assertEquals(0f, y[6]);
        assertEquals(Float.intBitsToFloat(0x00020000), y[7]);
        assertEquals(-2.5f, y[8]);

        // against an independent rounding: nearest of the two bf16 neighbours, ties to even
        Random rnd = new Random(5);
        float[] r = new float[4096];
        for (int i = 0; i < r.length; i++) {
            r[i] = Block32Data.randomFloat(rnd);
        }
        MemorySegment qr = MemorySegment.ofArray(new byte[2 * r.length]);
        Kernels.quantizer(GgmlType.BF16).quantize(r, 0, qr, 0, r.length);
        for (int i = 0; i < r.length; i++) {
            int bits = Float.floatToRawIntBits(r[i]);
            int down = bits & 0xFFFF0000;
            int up = down + 0x10000;
            double dd = Math.abs((double) r[i] - Float.intBitsToFloat(down));
            double du = Math.abs((double) Float.intBitsToFloat(up) - r[i]);
            int want = dd < du ? down : du < dd ? up : ((down >>> 16) & 1) == 0 ? down : up;
            assertEquals(want >>> 16, qr.get(Block32Data.LE_SHORT, 2L * i) & 0xFFFF, "bf16 of " + r[i]);
        }
    }
}
