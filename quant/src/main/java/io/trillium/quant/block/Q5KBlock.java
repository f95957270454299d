package io.trillium.quant.block;

import java.lang.foreign.MemorySegment;

/**
 * Q5_K: 256 elements in 8 sub-blocks of 32, 176 bytes.
 * {@code f16 d; f16 dmin; u8 scales[12]} (as Q4_K); {@code u8 qh[32]}: bit 2c / 2c+1 of qh[l] is the
 * fifth bit of element l of sub-block 2c / 2c+1; {@code u8 qs[128]} low nibbles as Q4_K.
 * y = (d * sc) * q - (dmin * m).
 */
public final class Q5KBlock {
    private Q5KBlock() {
    }

    public static final int BLOCK_SIZE = 256;
    public static final int BLOCK_BYTES = 176;
    public static final int D = 0;
    public static final int DMIN = 2;
    public static final int SCALES = 4;
    public static final int QH = 16;
    public static final int QS = 48;

    public static void dequantize(MemorySegment src, long offset, float[] dst, int dstOffset, int n) {
        for (int b = 0; b < n / BLOCK_SIZE; b++) {
            long o = offset + (long) b * BLOCK_BYTES;
            int y = dstOffset + b * BLOCK_SIZE;
            float d = Float.float16ToFloat(src.get(Q2KBlock.F16, o + D));
            float dmin = Float.float16ToFloat(src.get(Q2KBlock.F16, o + DMIN));
            for (int c = 0; c < 4; c++) {
                float d1 = d * Q4KBlock.scale(src, o + SCALES, 2 * c), m1 = dmin * Q4KBlock.min(src, o + SCALES, 2 * c);
                float d2 = d * Q4KBlock.scale(src, o + SCALES, 2 * c + 1), m2 = dmin * Q4KBlock.min(src, o + SCALES, 2 * c + 1);
                long q = o + QS + 32 * c;
                for (int l = 0; l < 32; l++) {
                    int hi = (Q4KBlock.u8(src, o + QH + l) >> (2 * c)) & 1;
                    dst[y++] = d1 * ((Q4KBlock.u8(src, q + l) & 0xF) + 16 * hi) - m1;
                }
                for (int l = 0; l < 32; l++) {
                    int hi = (Q4KBlock.u8(src, o + QH + l) >> (2 * c + 1)) & 1;
                    dst[y++] = d2 * ((Q4KBlock.u8(src, q + l) >> 4) + 16 * hi) - m2;
                }
            }
        }
    }
}
