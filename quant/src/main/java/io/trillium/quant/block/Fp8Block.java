package io.trillium.quant.block;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * FP8 e4m3fn weights with DeepSeek-V3's block scales: a byte per weight (1 sign, 4 exponent bits with
 * bias 7, 3 mantissa bits; no infinities, S.1111.111 is NaN, exponent 0 is subnormal m/8 · 2^-6) and
 * an F32 {@code weight_scale_inv} per 128×128 block, multiplied in: W[i, j] = fp8(W[i, j]) · s[i/128, j/128].
 */
public final class Fp8Block {
    /** Rows and columns per scale block. */
    public static final int BLOCK = 128;

    static final ValueLayout.OfFloat LE_FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private Fp8Block() {
    }

    /** The e4m3fn byte {@code b} as float, by the definition above. */
    public static float decode(byte b) {
        int sign = (b & 0x80) != 0 ? -1 : 1;
        int e = (b >> 3) & 0xF;
        int m = b & 0x7;
        if (e == 15 && m == 7) {
            return Float.NaN;
        }
        return e == 0 ? sign * m / 8f * 0x1p-6f : sign * (1 + m / 8f) * Math.scalb(1f, e - 7);
    }

    /** Scale blocks per row of a matrix with {@code cols} columns. */
    public static long blocksPerRow(long cols) {
        return (cols + BLOCK - 1) / BLOCK;
    }

    /**
     * Decodes {@code n} weights starting at byte {@code offset} of a row-major matrix with {@code cols}
     * columns (so at row offset / cols, column offset % cols; the run may not cross a row end).
     */
    public static void dequantize(MemorySegment w, long offset, MemorySegment scales, long cols,
                                  float[] dst, int dstOffset, int n) {
        long row = offset / cols;
        long col = offset % cols;
        if (col + n > cols) {
            throw new IllegalArgumentException("FP8: " + n + " values from column " + col + " cross the row end " + cols);
        }
        long sRow = row / BLOCK * blocksPerRow(cols);
        for (int i = 0; i < n; i++) {
            float s = scales.get(LE_FLOAT, (sRow + (col + i) / BLOCK) * 4);
            dst[dstOffset + i] = decode(w.get(ValueLayout.JAVA_BYTE, offset + i)) * s;
        }
    }

    /** The nearest e4m3fn byte to {@code f} (ties to even, saturating at ±448): for writing test data. */
    public static byte encode(float f) {
        byte best = 0;
        float bestErr = Float.POSITIVE_INFINITY;
        for (int b = 0; b < 256; b++) {
            float v = decode((byte) b);
            if (Float.isNaN(v)) {
                continue;
            }
            float err = Math.abs(v - f);
            if (err < bestErr || (err == bestErr && (b & 1) == 0 && (Math.signum(v) == Math.signum(f)))) {
                best = (byte) b;
                bestErr = err;
            }
        }
        return best;
    }
}
