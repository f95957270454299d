package io.trillium.quant.block;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Q3_K: 256 elements in 16 sub-blocks of 16, 110 bytes.
 * {@code u8 hmask[32]} (high bit, set = no -4); {@code u8 qs[64]} (low 2 bits);
 * {@code u8 scales[12]} (16 six-bit scales, biased by 32); {@code f16 d}. y = d * (s - 32) * q.
 */
public final class Q3KBlock {
    private Q3KBlock() {
    }

    public static final int BLOCK_SIZE = 256;
    public static final int BLOCK_BYTES = 110;
    public static final int HMASK = 0;
    public static final int QS = 32;
    public static final int SCALES = 96;
    public static final int D = 108;

    /** The 16 signed scales (already minus 32) of the block at {@code o}. */
    public static void scales(MemorySegment src, long o, int[] s) {
        for (int k = 0; k < 4; k++) {
            int lo = u8(src, o + SCALES + k);
            int mid = u8(src, o + SCALES + 4 + k);
            int hi = u8(src, o + SCALES + 8 + k);
            s[k] = ((lo & 0xF) | ((hi & 3) << 4)) - 32;
            s[4 + k] = ((mid & 0xF) | (((hi >> 2) & 3) << 4)) - 32;
            s[8 + k] = ((lo >> 4) | (((hi >> 4) & 3) << 4)) - 32;
            s[12 + k] = ((mid >> 4) | (((hi >> 6) & 3) << 4)) - 32;
        }
    }

    public static void dequantize(MemorySegment src, long offset, float[] dst, int dstOffset, int n) {
        int[] s = new int[16];
        for (int b = 0; b < n / BLOCK_SIZE; b++) {
            long o = offset + (long) b * BLOCK_BYTES;
            int y = dstOffset + b * BLOCK_SIZE;
            float d = Float.float16ToFloat(src.get(Q2KBlock.F16, o + D));
            scales(src, o, s);
            int is = 0;
            int m = 1;
            for (int h = 0; h < 2; h++) {
                long q = o + QS + 32 * h;
                for (int shift = 0; shift < 8; shift += 2) {
                    for (int half = 0; half < 2; half++) {
                        float dl = d * s[is++];
                        for (int l = 0; l < 16; l++) {
                            int lo = (u8(src, q + 16 * half + l) >> shift) & 3;
                            int hb = (u8(src, o + HMASK + 16 * half + l) & m) != 0 ? 0 : 4;
                            dst[y++] = dl * (lo - hb);
                        }
                    }
                    m <<= 1;
                }
            }
        }
    }

    static int u8(MemorySegment s, long o) {
        return s.get(ValueLayout.JAVA_BYTE, o) & 0xFF;
    }
}
