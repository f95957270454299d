package io.trillium.quant;

import io.trillium.quant.block.CtInt4Block;
import io.trillium.quant.block.Fp8Block;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The checkpoint types (compressed-tensors INT4, FP8 e4m3 with block scales): references and kernels. */
class CheckpointKernelsTest {
    static final ValueLayout.OfInt LE_INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfShort LE_SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfFloat LE_FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** MODEL-FACTS 6.3 by hand: value k of a word is ((word >> 4k) & 0xF) − 8, times the group's BF16 scale. */
    @Test
    void int4HandCheckedVector() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment packed = a.allocate(16);
            int[] words = {0x76543210, 0xFEDCBA98, 0x88888888, 0x0F0F0F0F};
            for (int i = 0; i < 4; i++) {
                packed.set(LE_INT, 4L * i, words[i]);
            }
            MemorySegment scale = a.allocate(2);
            scale.set(LE_SHORT, 0, (short) 0x4000);   // BF16 2.0
            float[] got = new float[32];
            Tensor t = new Tensor("w", GgmlType.CT_INT4, new long[] {32, 1}, packed, scale);
            t.dequantizeRows(0, 1, got, 0);
            float[] want = {
                    -16, -14, -12, -10, -8, -6, -4, -2,
                    0, 2, 4, 6, 8, 10, 12, 14,
                    0, 0, 0, 0, 0, 0, 0, 0,
                    14, -16, 14, -16, 14, -16, 14, -16};
            assertArrayEquals(want, got);
        }
    }

    @Test
    void int4PackIsTheInverseOfUnpack() {
        Random rnd = new Random(1);
        int[] q = new int[64];
        for (int i = 0; i < q.length; i++) {
            q[i] = rnd.nextInt(16) - 8;
        }
        try (Arena a = Arena.ofConfined()) {
            MemorySegment packed = a.allocate(32);
            CtInt4Block.pack(q, 0, packed, 0, 64);
            for (int i = 0; i < 64; i++) {
                assertEquals(q[i], CtInt4Block.unpack(packed.get(LE_INT, 4L * (i / 8)), i % 8), "value " + i);
            }
            assertThrows(IllegalArgumentException.class, () -> CtInt4Block.pack(new int[] {8, 0, 0, 0, 0, 0, 0, 0}, 0, packed, 0, 8));
        }
    }

    /** A random INT4 matrix [cols, rows] with random BF16 scales. */
    static Tensor int4(Arena a, Random rnd, int cols, int rows) {
        int[] q = new int[cols * rows];
        for (int i = 0; i < q.length; i++) {
            q[i] = rnd.nextInt(16) - 8;
        }
        MemorySegment packed = a.allocate((long) q.length / 2);
        CtInt4Block.pack(q, 0, packed, 0, q.length);
        MemorySegment scales = a.allocate((long) q.length / 32 * 2);
        for (int i = 0; i < q.length / 32; i++) {
            scales.set(LE_SHORT, 2L * i, (short) (Float.floatToRawIntBits((float) (rnd.nextGaussian() * 0.01)) >>> 16));
        }
        return new Tensor("int4", GgmlType.CT_INT4, new long[] {cols, rows}, packed, scales);
    }

    static Tensor fp8(Arena a, Random rnd, int cols, int rows) {
        MemorySegment w = a.allocate((long) cols * rows);
        for (long i = 0; i < w.byteSize(); i++) {
            byte b;
            do {
                b = (byte) rnd.nextInt(256);
            } while ((b & 0x7F) == 0x7F);   // no NaN codes
            w.set(ValueLayout.JAVA_BYTE, i, b);
        }
        long sb = GgmlType.F8_E4M3_B128.scaleBytes(cols, rows);
        MemorySegment s = a.allocate(sb);
        for (long i = 0; i < sb / 4; i++) {
            s.set(LE_FLOAT, 4 * i, (float) Math.exp(rnd.nextGaussian()) * 1e-3f);
        }
        return new Tensor("fp8", GgmlType.F8_E4M3_B128, new long[] {cols, rows}, w, s);
    }

    static float[] randomX(Random rnd, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) rnd.nextGaussian();
        }
        return x;
    }

    /** Every row: the kernel's mat-vec against the dequantized row dotted in double. */
    static void checkMatVec(Tensor t, Random rnd) {
        int n = (int) t.rowLength();
        int rows = (int) t.rowCount();
        float[] x = randomX(rnd, n);
        float[] w = new float[n * rows];
        t.dequantizeRows(0, rows, w, 0);
        float[] y = new float[rows];
        Kernels.simd(t).matVec(t.data(), 0, t.rowBytes(), x, n, y, 0, rows);
        for (int r = 0; r < rows; r++) {
            double exact = 0;
            double mag = 0;
            for (int i = 0; i < n; i++) {
                exact += (double) w[r * n + i] * x[i];
                mag += Math.abs((double) w[r * n + i] * x[i]);
            }
            double tol = 2e-5 * mag + 1e-30;
            assertTrue(Math.abs(exact - y[r]) <= tol, t + " row " + r + ": " + exact + " vs " + y[r]);
            float scalar = Kernels.scalar(t).dot(t.data(), r * t.rowBytes(), x, 0, n);
            assertTrue(Math.abs(exact - scalar) <= tol, t + " scalar row " + r);
            // the same code; only the JIT tier can differ between the two calls (the interpreter's Java fallback
            // of reduceLanes sums lanes in another order than the intrinsic), so a row mix-up, not an ulp, fails
            assertEquals(y[r], Kernels.simd(t).dot(t.data(), r * t.rowBytes(), x, 0, n), 1e-6 * mag + 1e-30,
                    "dot = matVec row " + r);
        }
    }

    @Test
    void int4SimdEqualsReference() {
        Random rnd = new Random(7);
        try (Arena a = Arena.ofConfined()) {
            for (int cols : new int[] {32, 96, 224, 2048, 7168}) {
                checkMatVec(int4(a, rnd, cols, 5), rnd);
            }
            // a row view keeps its scales in step
            Tensor t = int4(a, rnd, 256, 12);
            checkMatVec(t.rows(5, 9), rnd);
            float[] whole = new float[256 * 12];
            float[] part = new float[256 * 4];
            t.dequantizeRows(0, 12, whole, 0);
            t.rows(5, 9).dequantizeRows(0, 4, part, 0);
            assertArrayEquals(java.util.Arrays.copyOfRange(whole, 5 * 256, 9 * 256), part);
        }
    }

    /** e4m3fn by hand: 0x38 = 1, 0x7E = 448 (max), 0x01 = 2^-9 (smallest subnormal), 0xC0 = −2, 0x7F NaN. */
    @Test
    void fp8HandCheckedDecode() {
        assertEquals(1f, Fp8Block.decode((byte) 0x38));
        assertEquals(448f, Fp8Block.decode((byte) 0x7E));
        assertEquals(0x1p-9f, Fp8Block.decode((byte) 0x01));
        assertEquals(0.875f * 0x1p-6f, Fp8Block.decode((byte) 0x07));
        assertEquals(-2f, Fp8Block.decode((byte) 0xC0));
        assertEquals(1.125f, Fp8Block.decode((byte) 0x39));
        assertTrue(Float.isNaN(Fp8Block.decode((byte) 0x7F)));
        assertTrue(Float.isNaN(Fp8Block.decode((byte) 0xFF)));
        assertEquals((byte) 0x38, Fp8Block.encode(1f));
        assertEquals((byte) 0x7E, Fp8Block.encode(1000f));
    }

    /** The kernel's bit-placement decode equals the reference for all 254 non-NaN codes. */
    @Test
    void fp8SimdDecodesEveryCode() {
        try (Arena a = Arena.ofConfined()) {
            int n = 256;
            MemorySegment w = a.allocate(n);
            for (int i = 0; i < n; i++) {
                w.set(ValueLayout.JAVA_BYTE, i, (byte) i);
            }
            MemorySegment s = a.allocate(GgmlType.F8_E4M3_B128.scaleBytes(n, 1));
            s.set(LE_FLOAT, 0, 1f);
            s.set(LE_FLOAT, 4, 1f);
            Tensor t = new Tensor("all", GgmlType.F8_E4M3_B128, new long[] {n, 1}, w, s);
            DotKernel k = Kernels.simd(t);
            for (int i = 0; i < n; i++) {
                if ((i & 0x7F) == 0x7F) {
                    continue;
                }
                float[] x = new float[n];
                x[i] = 1f;
                assertEquals(Fp8Block.decode((byte) i), k.dot(w, 0, x, 0, n), 0f, "code " + i);
            }
        }
    }

    @Test
    void fp8SimdEqualsReference() {
        Random rnd = new Random(11);
        try (Arena a = Arena.ofConfined()) {
            checkMatVec(fp8(a, rnd, 128, 3), rnd);
            checkMatVec(fp8(a, rnd, 200, 300), rnd);     // edge blocks in both directions
            checkMatVec(fp8(a, rnd, 1024, 130), rnd);
            Tensor t = fp8(a, rnd, 200, 300);
            checkMatVec(t.rows(128, 300), rnd);
            float[] whole = new float[200 * 300];
            float[] part = new float[200 * 172];
            t.dequantizeRows(0, 300, whole, 0);
            t.rows(128, 300).dequantizeRows(0, 172, part, 0);
            assertArrayEquals(java.util.Arrays.copyOfRange(whole, 128 * 200, 300 * 200), part);
            assertThrows(IllegalArgumentException.class, () -> t.rows(5, 9));
        }
    }

    @Test
    void scalesAreRequiredAndChecked() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment p = a.allocate(16);
            assertThrows(IllegalArgumentException.class, () -> new Tensor("w", GgmlType.CT_INT4, new long[] {32, 1}, p));
            assertThrows(IllegalArgumentException.class,
                    () -> new Tensor("w", GgmlType.CT_INT4, new long[] {32, 1}, p, a.allocate(4)));
            assertThrows(IllegalArgumentException.class,
                    () -> new Tensor("w", GgmlType.F16, new long[] {8, 1}, p, a.allocate(2)));
            assertThrows(UnsupportedOperationException.class, () -> Kernels.simd(GgmlType.CT_INT4));
            assertEquals(null, GgmlType.byId(-1));
        }
    }
}
