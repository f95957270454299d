package io.trillium.quant;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The Vector API and integer-route kernels of the 32-block family against the scalar reference. */
class Block32KernelsTest {

    /** Relative to sum |w_i x_i|: float summation in a different order, n up to a few thousand. */
    static final double REL = 2e-5;

    static GgmlType[] family() {
        return Block32Data.FAMILY.toArray(GgmlType[]::new);
    }

    static GgmlType[] blockTypes() {
        return Block32Data.FAMILY.stream().filter(GgmlType::isQuantized).toArray(GgmlType[]::new);
    }

    static int[] lengths(GgmlType t) {
        int[] blocks = {32, 96, 224, 4096 + 32, 64, 512};
        if (t.isQuantized()) {
            return blocks;
        }
        int[] plain = {1, 7, 15, 16, 17, 33, 100, 255};
        int[] all = Arrays.copyOf(blocks, blocks.length + plain.length);
        System.arraycopy(plain, 0, all, blocks.length, plain.length);
        return all;
    }

    static void assertClose(double expected, float actual, double absDot, String what) {
        assertTrue(Float.isFinite(actual), what + ": not finite: " + actual);
        double tol = REL * absDot + 1e-30;
        assertTrue(Math.abs(expected - actual) <= tol,
                what + ": expected " + expected + " got " + actual + " (tol " + tol + ")");
    }

    @ParameterizedTest
    @MethodSource("family")
    void kernelsAreRegistered(GgmlType t) {
        assertEquals(t, Kernels.simd(t).type());
        assertEquals(t, Kernels.scalar(t).type());
        assertNotNull(Kernels.reference(t));
    }

    @ParameterizedTest
    @MethodSource("family")
    void simdDotEqualsReference(GgmlType t) {
        Random rnd = new Random(t.ordinal() * 31L + 1);
        DotKernel simd = Kernels.simd(t);
        try (Arena arena = Arena.ofConfined()) {
            for (int n : lengths(t)) {
                for (long offset : new long[] {0, 3}) {
                    int xOffset = (int) offset * 5;
                    MemorySegment seg = Block32Data.allocate(arena, offset + t.bytesFor(n));
                    Block32Data.fill(t, seg, offset, n, rnd, null);
                    float[] x = Block32Data.randomVector(n + xOffset, rnd);
                    float[] w = Block32Data.dequantize(t, seg, offset, n);
                    float got = simd.dot(seg, offset, x, xOffset, n);
                    float ref = Kernels.scalar(t).dot(seg, offset, x, xOffset, n);
                    double abs = Block32Data.absDot(w, x, xOffset);
                    String what = t + " n=" + n + " offset=" + offset;
                    assertClose(Block32Data.exactDot(w, x, xOffset), got, abs, what + " vs exact");
                    assertClose(ref, got, abs, what + " vs scalar");
                }
            }
        }
    }

    @ParameterizedTest
    @MethodSource("family")
    void simdDotOnHeapSegment(GgmlType t) {
        Random rnd = new Random(7);
        int n = 224;
        MemorySegment seg = MemorySegment.ofArray(new byte[(int) t.bytesFor(n) + 1]);
        Block32Data.fill(t, seg, 1, n, rnd, null);
        float[] x = Block32Data.randomVector(n, rnd);
        float[] w = Block32Data.dequantize(t, seg, 1, n);
        assertClose(Block32Data.exactDot(w, x, 0), Kernels.simd(t).dot(seg, 1, x, 0, n),
                Block32Data.absDot(w, x, 0), t + " heap");
    }

    @ParameterizedTest
    @MethodSource("blockTypes")
    void extremeScales(GgmlType t) {
        Random rnd = new Random(11);
        DotKernel simd = Kernels.simd(t);
        try (Arena arena = Arena.ofConfined()) {
            for (short scale : Block32Data.EXTREME_SCALES) {
                for (int n : new int[] {32, 224, 4096 + 32}) {
                    MemorySegment seg = Block32Data.allocate(arena, t.bytesFor(n));
                    Block32Data.fill(t, seg, 0, n, rnd, new short[] {scale});
                    float[] x = Block32Data.randomVector(n, rnd);
                    float[] w = Block32Data.dequantize(t, seg, 0, n);
                    for (float v : w) {
                        assertTrue(Float.isFinite(v));
                    }
                    double abs = Block32Data.absDot(w, x, 0);
                    String what = t + " scale=0x" + Integer.toHexString(scale & 0xFFFF) + " n=" + n;
                    assertClose(Block32Data.exactDot(w, x, 0), simd.dot(seg, 0, x, 0, n), abs, what);
                }
            }
            // every block with a different extreme scale (and mins for Q4_1/Q5_1)
            int n = 32 * 64;
            MemorySegment seg = Block32Data.allocate(arena, t.bytesFor(n));
            Block32Data.fill(t, seg, 0, n, rnd, Block32Data.EXTREME_SCALES);
            float[] x = Block32Data.randomVector(n, rnd);
            float[] w = Block32Data.dequantize(t, seg, 0, n);
            assertClose(Block32Data.exactDot(w, x, 0), simd.dot(seg, 0, x, 0, n), Block32Data.absDot(w, x, 0),
                    t + " mixed extreme scales");
        }
    }

    @Test
    void f16SpecialValues() {
        // every finite fp16, including subnormals and -0, decoded by the SIMD kernel as one-hot dots
        int n = 1 << 16;
        MemorySegment seg = MemorySegment.ofArray(new byte[2 * n]);
        for (int i = 0; i < n; i++) {
            seg.set(Block32Data.LE_SHORT, 2L * i, (short) i);
        }
        float[] w = Block32Data.dequantize(GgmlType.F16, seg, 0, n);
        float[] x = new float[64];
        DotKernel simd = Kernels.simd(GgmlType.F16);
        for (int i = 0; i < n; i += 64) {
            if ((i & 0x7C00) == 0x7C00) {
                continue; // inf/NaN chunks: inf * 0 poisons one-hot dots; covered below
            }
            for (int k = 0; k < 64; k++) {
                Arrays.fill(x, 0f);
                x[k] = 1f;
                assertEquals(w[i + k] + 0f, simd.dot(seg, 2L * i, x, 0, 64), 0f, "fp16 0x" + Integer.toHexString(i + k));
            }
        }
        // inf and NaN survive the bit decoding
        float[] ones = new float[32];
        Arrays.fill(ones, 1f);
        MemorySegment special = MemorySegment.ofArray(new byte[64]);
        special.set(Block32Data.LE_SHORT, 10, (short) 0x7C00);
        assertEquals(Float.POSITIVE_INFINITY, simd.dot(special, 0, ones, 0, 32));
        special.set(Block32Data.LE_SHORT, 10, (short) 0xFC00);
        assertEquals(Float.NEGATIVE_INFINITY, simd.dot(special, 0, ones, 0, 32));
        special.set(Block32Data.LE_SHORT, 10, (short) 0x7E01);
        assertTrue(Float.isNaN(simd.dot(special, 0, ones, 0, 32)));
    }

    @ParameterizedTest
    @MethodSource("family")
    void matVecWritesOnlyItsRowRange(GgmlType t) {
        Random rnd = new Random(5);
        DotKernel simd = Kernels.simd(t);
        int n = 96;
        int rows = 13;
        long offset = 5;
        long stride = t.bytesFor(n) + 3; // padded rows
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = Block32Data.allocate(arena, offset + rows * stride);
            for (int r = 0; r < rows; r++) {
                Block32Data.fill(t, seg, offset + r * stride, n, rnd, null);
            }
            float[] x = Block32Data.randomVector(n, rnd);
            int[][] ranges = {{0, 13}, {3, 11}, {1, 8}, {2, 3}, {4, 4}, {0, 5}, {9, 13}};
            for (int[] range : ranges) {
                float[] y = new float[rows];
                Arrays.fill(y, Float.NaN);
                simd.matVec(seg, offset, stride, x, n, y, range[0], range[1]);
                for (int r = 0; r < rows; r++) {
                    if (r < range[0] || r >= range[1]) {
                        assertTrue(Float.isNaN(y[r]), t + " row " + r + " outside " + Arrays.toString(range) + " written");
                    } else {
                        float[] w = Block32Data.dequantize(t, seg, offset + r * stride, n);
                        double abs = Block32Data.absDot(w, x, 0);
                        assertClose(simd.dot(seg, offset + r * stride, x, 0, n), y[r], abs, t + " row " + r);
                        assertClose(Block32Data.exactDot(w, x, 0), y[r], abs, t + " row " + r + " vs exact");
                    }
                }
            }
        }
    }

    // ---- integer route ----

    static GgmlType[] intTypes() {
        return new GgmlType[] {GgmlType.Q8_0, GgmlType.Q4_0};
    }

    @ParameterizedTest
    @MethodSource("intTypes")
    void integerRouteEqualsFloat64DotOfDequantized(GgmlType t) {
        QuantizedDotKernel k = Kernels.quantized(t);
        assertEquals(t, k.type());
        assertEquals(GgmlType.Q8_0, k.activationType());
        Random rnd = new Random(3);
        Quantizer q8 = Kernels.quantizer(GgmlType.Q8_0);
        try (Arena arena = Arena.ofConfined()) {
            for (int n : new int[] {32, 64, 96, 224, 4096 + 32}) {
                for (short[] scales : new short[][] {null, Block32Data.EXTREME_SCALES}) {
                    for (long offset : new long[] {0, 7}) {
                        MemorySegment seg = Block32Data.allocate(arena, offset + t.bytesFor(n));
                        Block32Data.fill(t, seg, offset, n, rnd, scales);
                        float[] x = Block32Data.randomVector(n, rnd);
                        long xqOffset = offset * 2;
                        MemorySegment xq = Block32Data.allocate(arena, xqOffset + GgmlType.Q8_0.bytesFor(n));
                        q8.quantize(x, 0, xq, xqOffset, n);
                        float[] w = Block32Data.dequantize(t, seg, offset, n);
                        float[] xd = Block32Data.dequantize(GgmlType.Q8_0, xq, xqOffset, n);
                        float got = k.dot(seg, offset, xq, xqOffset, n);
                        assertClose(Block32Data.exactDot(w, xd, 0), got, Block32Data.absDot(w, xd, 0),
                                t + " int n=" + n + " offset=" + offset + (scales == null ? "" : " extreme"));
                    }
                }
            }
        }
    }

    @ParameterizedTest
    @MethodSource("intTypes")
    void integerRouteMatVecWritesOnlyItsRowRange(GgmlType t) {
        QuantizedDotKernel k = Kernels.quantized(t);
        Random rnd = new Random(9);
        int n = 224;
        int rows = 9;
        long stride = t.bytesFor(n) + 1;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = Block32Data.allocate(arena, 2 + rows * stride);
            for (int r = 0; r < rows; r++) {
                Block32Data.fill(t, seg, 2 + r * stride, n, rnd, null);
            }
            float[] x = Block32Data.randomVector(n, rnd);
            MemorySegment xq = Block32Data.allocate(arena, GgmlType.Q8_0.bytesFor(n));
            Kernels.quantizer(GgmlType.Q8_0).quantize(x, 0, xq, 0, n);
            float[] xd = Block32Data.dequantize(GgmlType.Q8_0, xq, 0, n);
            for (int[] range : new int[][] {{0, 9}, {1, 8}, {2, 3}, {5, 5}, {3, 9}}) {
                float[] y = new float[rows];
                Arrays.fill(y, Float.NaN);
                k.matVec(seg, 2, stride, xq, n, y, range[0], range[1]);
                for (int r = 0; r < rows; r++) {
                    if (r < range[0] || r >= range[1]) {
                        assertTrue(Float.isNaN(y[r]), t + " row " + r + " outside " + Arrays.toString(range) + " written");
                    } else {
                        float[] w = Block32Data.dequantize(t, seg, 2 + r * stride, n);
                        assertClose(Block32Data.exactDot(w, xd, 0), y[r], Block32Data.absDot(w, xd, 0), t + " row " + r);
                    }
                }
            }
        }
    }

    @Test
    void integerRouteTracksTheFloatRoute() {
        // the Q8_0 activation rounding costs at most d_x/2 per element
        Random rnd = new Random(13);
        int n = 4096;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = Block32Data.allocate(arena, GgmlType.Q8_0.bytesFor(n));
            Block32Data.fill(GgmlType.Q8_0, seg, 0, n, rnd, null);
            float[] x = Block32Data.randomVector(n, rnd);
            MemorySegment xq = Block32Data.allocate(arena, GgmlType.Q8_0.bytesFor(n));
            Kernels.quantizer(GgmlType.Q8_0).quantize(x, 0, xq, 0, n);
            float[] w = Block32Data.dequantize(GgmlType.Q8_0, seg, 0, n);
            double bound = 0;
            for (int i = 0; i < n; i += 32) {
                float amax = 0;
                for (int j = 0; j < 32; j++) {
                    amax = Math.max(amax, Math.abs(x[i + j]));
                }
                for (int j = 0; j < 32; j++) {
                    bound += Math.abs(w[i + j]) * (amax / 127 / 2 * 1.01);
                }
            }
            float f = Kernels.simd(GgmlType.Q8_0).dot(seg, 0, x, 0, n);
            float iq = Kernels.quantized(GgmlType.Q8_0).dot(seg, 0, xq, 0, n);
            assertTrue(Math.abs(f - iq) <= bound, "float " + f + " int " + iq + " bound " + bound);
        }
    }
}
