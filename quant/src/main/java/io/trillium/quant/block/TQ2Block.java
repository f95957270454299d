package io.trillium.quant.block;

import java.lang.foreign.MemorySegment;

import static io.trillium.quant.block.IQGrids.*;

/**
 * TQ2_0 (ternary in 2 bits): 256 elements, 66 bytes: {@code u8 qs[64]; f16 d}. Value q in 0..2 at bits
 * 2l..2l+1 of byte 32h + m is element 128h + 32l + m: y = d · (q - 1).
 */
public final class TQ2Block {
    private TQ2Block() {
    }

    public static final int BLOCK_SIZE = 256;
    public static final int BLOCK_BYTES = 66;

    public static void dequantize(MemorySegment src, long offset, float[] dst, int dstOffset, int n) {
        blocks(src, offset, dst, dstOffset, n, BLOCK_BYTES, TQ2Block::block);
    }

    /**
     * Encodes {@code n} values (whole blocks): per block {@code d} = the largest magnitude, each value's trit
     * {@code round(x / d)} (halves away from zero, as C's {@code lroundf}) in {-1, 0, 1}, stored as {@code q + 1}
     * at the bit pair of its element; round-to-nearest, not importance-weighted.
     */
    public static void quantize(float[] src, int srcOffset, MemorySegment dst, long dstOffset, int n) {
        for (int b = 0; b < n / BLOCK_SIZE; b++) {
            int x = srcOffset + b * BLOCK_SIZE;
            long o = dstOffset + (long) b * BLOCK_BYTES;
            float d = absMax(src, x, BLOCK_SIZE);
            float id = d != 0f ? 1f / d : 0f;
            for (int h = 0; h < 2; h++) {
                for (int m = 0; m < 32; m++) {
                    int q = 0;
                    for (int l = 0; l < 4; l++) {
                        q |= (trit(src[x + 128 * h + 32 * l + m] * id) + 1) << (2 * l);
                    }
                    putU8(dst, o + 32 * h + m, q);
                }
            }
            dst.set(F16Block.LE_SHORT, o + 64, Float.floatToFloat16(d));
        }
    }

    private static void block(MemorySegment src, long o, float[] dst, int y) {
        float d = f16(src, o + 64);
        for (int h = 0; h < 2; h++) {
            for (int l = 0; l < 4; l++) {
                for (int m = 0; m < 32; m++) {
                    dst[y++] = (((u8(src, o + 32 * h + m) >> (2 * l)) & 3) - 1) * d;
                }
            }
        }
    }
}
