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
