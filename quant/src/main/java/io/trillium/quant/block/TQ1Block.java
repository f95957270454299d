package io.trillium.quant.block;

import java.lang.foreign.MemorySegment;

import static io.trillium.quant.block.IQGrids.*;

/**
 * TQ1_0 (ternary): 256 elements, 54 bytes: {@code u8 qs[48]; u8 qh[4]; f16 d}. Each qs byte packs 5 values
 * in {-1, 0, 1} and each qh byte 4, as base-3 fixed-point fractions: digit k of byte q is
 * {@code ((q · 3^k mod 256) · 3) >> 8}. Element order: qs bytes 0..31 digit by digit (32 elements per
 * digit), then bytes 32..47 likewise (16 per digit), then qh's 4 bytes digit by digit: y = d · (digit - 1).
 */
public final class TQ1Block {
    private TQ1Block() {
    }

    public static final int BLOCK_SIZE = 256;
    public static final int BLOCK_BYTES = 54;
    private static final int[] POW3 = {1, 3, 9, 27, 81, 243};

    private static int digit(int q, int k) {
        return ((((q * POW3[k]) & 0xFF) * 3) >> 8) - 1;
    }

    public static void dequantize(MemorySegment src, long offset, float[] dst, int dstOffset, int n) {
        blocks(src, offset, dst, dstOffset, n, BLOCK_BYTES, TQ1Block::block);
    }

    /**
     * Encodes {@code n} values (whole blocks): per block {@code d} = the largest magnitude, each value's trit
     * {@code round(x / d) + 1} in 0..2 (halves away from zero, as C's {@code lroundf}); a byte's 5 trits (4 in
     * qh, then times 3) as a base-3 number v, most significant first, stored as the fixed-point fraction
     * {@code ceil(256 · v / 243)}, which {@link #digit} reads back. Round-to-nearest, not importance-weighted.
     */
    public static void quantize(float[] src, int srcOffset, MemorySegment dst, long dstOffset, int n) {
        for (int b = 0; b < n / BLOCK_SIZE; b++) {
            int x = srcOffset + b * BLOCK_SIZE;
            long o = dstOffset + (long) b * BLOCK_BYTES;
            float d = absMax(src, x, BLOCK_SIZE);
            float id = d != 0f ? 1f / d : 0f;
            for (int m = 0; m < 32; m++) {   // qs 0..31: elements m + 32k, k = 0..4
                putFraction(dst, o + m, packed(src, x + m, 32, 5, id));
            }
            for (int m = 0; m < 16; m++) {   // qs 32..47: elements 160 + m + 16k
                putFraction(dst, o + 32 + m, packed(src, x + 160 + m, 16, 5, id));
            }
            for (int m = 0; m < 4; m++) {    // qh: elements 240 + m + 4k, k = 0..3, and a zero last trit
                putFraction(dst, o + 48 + m, packed(src, x + 240 + m, 4, 4, id) * 3);
            }
            dst.set(F16Block.LE_SHORT, o + 52, Float.floatToFloat16(d));
        }
    }

    /** The trits of {@code count} values {@code step} apart, most significant first, as a base-3 number. */
    private static int packed(float[] src, int from, int step, int count, float id) {
        int v = 0;
        for (int k = 0; k < count; k++) {
            v = 3 * v + trit(src[from + k * step] * id) + 1;
        }
        return v;
    }

    /** A base-3 number of 5 trits (0..242) as the fixed-point fraction {@code ceil(256 · v / 243)}. */
    private static void putFraction(MemorySegment dst, long at, int v) {
        putU8(dst, at, (v * 256 + 242) / 243);
    }

    private static void block(MemorySegment src, long o, float[] dst, int y) {
        float d = f16(src, o + 52);
        for (int k = 0; k < 5; k++) {
            for (int m = 0; m < 32; m++) {
                dst[y++] = digit(u8(src, o + m), k) * d;
            }
        }
        for (int k = 0; k < 5; k++) {
            for (int m = 0; m < 16; m++) {
                dst[y++] = digit(u8(src, o + 32 + m), k) * d;
            }
        }
        for (int k = 0; k < 4; k++) {
            for (int m = 0; m < 4; m++) {
                dst[y++] = digit(u8(src, o + 48 + m), k) * d;
            }
        }
    }
}
