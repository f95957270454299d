package io.trillium.quant.block;

import java.lang.foreign.MemorySegment;

/**
 * IQ4_XS: 256 elements in 8 sub-blocks of 32, 136 bytes.
 * {@code f16 d; u16 scales_h} (2 high bits per sub-block); {@code u8 scales_l[4]} (low nibbles);
 * {@code u8 qs[128]}: 16 bytes per sub-block, low nibbles are its first 16 elements, high the next 16,
 * each an index into the non-linear {@link #KVALUES}. y = (d * (ls - 32)) * kvalues[q].
 */
public final class IQ4XSBlock {
    private IQ4XSBlock() {
    }

    public static final int BLOCK_SIZE = 256;
    public static final int BLOCK_BYTES = 136;
    public static final int D = 0;
    public static final int SCALES_H = 2;
    public static final int SCALES_L = 4;
    public static final int QS = 8;

    /** kvalues_iq4nl. */
    public static final byte[] KVALUES = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};

    /** The 6-bit scale (minus 32) of sub-block ib of the block at {@code o}. */
    public static int scale(MemorySegment s, long o, int ib) {
        int sh = s.get(Q2KBlock.F16, o + SCALES_H) & 0xFFFF;
        int sl = Q4KBlock.u8(s, o + SCALES_L + ib / 2);
        return (((sl >> (4 * (ib % 2))) & 0xF) | (((sh >> (2 * ib)) & 3) << 4)) - 32;
    }

    public static void dequantize(MemorySegment src, long offset, float[] dst, int dstOffset, int n) {
        for (int b = 0; b < n / BLOCK_SIZE; b++) {
            long o = offset + (long) b * BLOCK_BYTES;
            float d = Float.float16ToFloat(src.get(Q2KBlock.F16, o + D));
            for (int ib = 0; ib < 8; ib++) {
                float dl = d * scale(src, o, ib);
                int y = dstOffset + b * BLOCK_SIZE + 32 * ib;
                long q = o + QS + 16 * ib;
                for (int j = 0; j < 16; j++) {
                    int v = Q4KBlock.u8(src, q + j);
                    dst[y + j] = dl * KVALUES[v & 0xF];
                    dst[y + j + 16] = dl * KVALUES[v >> 4];
                }
            }
        }
    }
}
