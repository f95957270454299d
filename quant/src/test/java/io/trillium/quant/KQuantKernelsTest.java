package io.trillium.quant;

import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/** The 256-element super-block family: SIMD float route, integer route and matVec against the scalar reference. */
class KQuantKernelsTest {
    static final GgmlType[] TYPES = {GgmlType.Q2_K, GgmlType.Q3_K, GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K,
            GgmlType.Q8_K, GgmlType.IQ4_XS};
    static final int[] LENGTHS = {256, 512, 2816, 4096};
    static final ValueLayout.OfShort F16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    /** fp16 d/dmin values that stress the conversion: subnormals, max magnitude, negatives, zero. */
    static final short[] EXTREME_F16 = {0x0001, 0x03FF, 0x7BFF, (short) 0x8001, (short) 0x83FF, (short) 0xFBFF, 0x0000,
            0x3C00, 0x1400, (short) 0x9400};

    /** Offsets of the fp16 scale fields of one block. */
    static int[] f16Fields(GgmlType t) {
        return switch (t) {
            case Q2_K -> new int[] {80, 82};
            case Q3_K -> new int[] {108};
            case Q4_K, Q5_K -> new int[] {0, 2};
            case Q6_K -> new int[] {208};
            case IQ4_XS, IQ2_XXS, IQ2_XS, IQ2_S, IQ3_XXS, IQ3_S, IQ1_S -> new int[] {0};
            case TQ2_0 -> new int[] {64};
            case TQ1_0 -> new int[] {52};
            default -> new int[] {};
        };
    }

    /**
     * Random blocks: random quant/scale bytes, d/dmin random normal fp16 or (with {@code extreme}) drawn
     * from {@link #EXTREME_F16}. Q8_K gets a random f32 d.
     */
    static MemorySegment randomBlocks(GgmlType t, long blocks, Random r, boolean extreme) {
        MemorySegment s = Arena.ofAuto().allocate(blocks * t.blockBytes());
        byte[] buf = new byte[(int) s.byteSize()];
        r.nextBytes(buf);
        MemorySegment.copy(buf, 0, s, ValueLayout.JAVA_BYTE, 0, buf.length);
        for (long b = 0; b < blocks; b++) {
            long o = b * t.blockBytes();
            for (int f : f16Fields(t)) {
                short h = extreme ? EXTREME_F16[r.nextInt(EXTREME_F16.length)]
                        : Float.floatToFloat16((r.nextFloat() - 0.4f) * 0.02f);
                s.set(F16, o + f, h);
            }
            if (t == GgmlType.IQ1_M) {   // its f16 d lives in the top nibbles of the four scale words
                short h = extreme ? EXTREME_F16[r.nextInt(EXTREME_F16.length)]
                        : Float.floatToFloat16((r.nextFloat() - 0.4f) * 0.02f);
                for (int i = 0; i < 4; i++) {
                    short word = s.get(F16, o + 48 + 2 * i);
                    s.set(F16, o + 48 + 2 * i, (short) ((word & 0x0FFF) | ((h >> (4 * i)) & 0xF) << 12));
                }
            }
            if (t == GgmlType.Q8_K) {
                s.set(F32, o, extreme ? (r.nextBoolean() ? 1e-30f : -3e4f) : r.nextFloat() * 0.02f);
            }
        }
        return s;
    }

    static float[] randomX(int n, Random r) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) r.nextGaussian();
        }
        return x;
    }

    /** Tolerance: float rounding of a length-n dot, relative to sum |w*x| (plus a tiny absolute floor). */
    static void assertDot(double expected, double magnitude, float actual, int n, String what) {
        double tol = 1e-5 * magnitude + 1e-30;
        assertTrue(Math.abs(actual - expected) <= tol,
                what + ": expected " + expected + " got " + actual + " (|w.x| " + magnitude + ", n " + n + ")");
    }

    @Test
    void simdDotEqualsScalarReference() {
        Random r = new Random(42);
        for (GgmlType t : TYPES) {
            for (boolean extreme : new boolean[] {false, true}) {
                for (int n : LENGTHS) {
                    MemorySegment w = randomBlocks(t, n / 256, r, extreme);
                    float[] x = randomX(n, r);
                    float[] deq = new float[n];
                    Kernels.reference(t).dequantize(w, 0, deq, 0, n);
                    double ref = 0, mag = 0;
                    for (int i = 0; i < n; i++) {
                        ref += (double) deq[i] * x[i];
                        mag += Math.abs((double) deq[i] * x[i]);
                    }
                    assertTrue(Double.isFinite(ref), t + " reference not finite");
                    assertDot(ref, mag, Kernels.simd(t).dot(w, 0, x, 0, n), n, t + " simd extreme=" + extreme);
                    assertDot(ref, mag, Kernels.scalar(t).dot(w, 0, x, 0, n), n, t + " scalar extreme=" + extreme);
                }
            }
        }
    }

    @Test
    void simdDotHonoursOffsets() {
        Random r = new Random(7);
        for (GgmlType t : TYPES) {
            int n = 512;
            MemorySegment w = randomBlocks(t, 5, r, false);
            float[] x = randomX(n + 37, r);
            long off = 3L * t.blockBytes();
            float[] deq = new float[n];
            Kernels.reference(t).dequantize(w, off, deq, 0, n);
            double ref = 0, mag = 0;
            for (int i = 0; i < n; i++) {
                ref += (double) deq[i] * x[37 + i];
                mag += Math.abs((double) deq[i] * x[37 + i]);
            }
            assertDot(ref, mag, Kernels.simd(t).dot(w, off, x, 37, n), n, t + " offsets");
        }
    }

    @Test
    void matVecWritesOnlyItsRowRange() {
        Random r = new Random(3);
        int rows = 9, n = 768;
        for (GgmlType t : TYPES) {
            long rowBytes = t.bytesFor(n);
            // rows start at an odd offset to catch alignment assumptions
            MemorySegment blocks = randomBlocks(t, rows * (n / 256L) + 1, r, false);
            long offset = t.blockBytes();
            float[] x = randomX(n, r);
            DotKernel k = Kernels.simd(t);
            float[] y = new float[rows];
            java.util.Arrays.fill(y, Float.NaN);
            k.matVec(blocks, offset, rowBytes, x, n, y, 2, 7);
            for (int row = 0; row < rows; row++) {
                if (row < 2 || row >= 7) {
                    assertTrue(Float.isNaN(y[row]), t + " row " + row + " written");
                } else {
                    assertEquals(k.dot(blocks, offset + row * rowBytes, x, 0, n), y[row], t + " row " + row);
                }
            }
            QuantizedDotKernel q = Kernels.quantized(t);
            if (q != null) {
                MemorySegment xq = Arena.ofAuto().allocate(GgmlType.Q8_K.bytesFor(n));
                Kernels.quantizer(GgmlType.Q8_K).quantize(x, 0, xq, 0, n);
                java.util.Arrays.fill(y, Float.NaN);
                q.matVec(blocks, offset, rowBytes, xq, n, y, 1, 8);
                for (int row = 0; row < rows; row++) {
                    if (row < 1 || row >= 8) {
                        assertTrue(Float.isNaN(y[row]), t + " int row " + row + " written");
                    } else {
                        assertEquals(q.dot(blocks, offset + row * rowBytes, xq, 0, n), y[row], t + " int row " + row);
                    }
                }
            }
        }
    }

    @Test
    void integerRouteEqualsFloat64Reference() {
        Random r = new Random(11);
        for (GgmlType t : new GgmlType[] {GgmlType.Q4_K, GgmlType.Q6_K}) {
            QuantizedDotKernel q = Kernels.quantized(t);
            assertEquals(GgmlType.Q8_K, q.activationType());
            assertEquals(t, q.type());
            for (boolean extreme : new boolean[] {false, true}) {
                for (int n : LENGTHS) {
                    MemorySegment w = randomBlocks(t, n / 256, r, extreme);
                    float[] x = randomX(n, r);
                    if (extreme) {
                        x[r.nextInt(n)] = -1e4f; // one dominant activation: most quants round to 0
                    }
                    MemorySegment xq = Arena.ofAuto().allocate(GgmlType.Q8_K.bytesFor(n));
                    Kernels.quantizer(GgmlType.Q8_K).quantize(x, 0, xq, 0, n);
                    float[] wd = new float[n], xd = new float[n];
                    Kernels.reference(t).dequantize(w, 0, wd, 0, n);
                    Kernels.reference(GgmlType.Q8_K).dequantize(xq, 0, xd, 0, n);
                    double ref = 0, mag = 0;
                    for (int i = 0; i < n; i++) {
                        ref += (double) wd[i] * xd[i];
                        mag += Math.abs((double) wd[i] * xd[i]);
                    }
                    assertDot(ref, mag, q.dot(w, 0, xq, 0, n), n, t + " int extreme=" + extreme);
                }
            }
        }
    }
}
