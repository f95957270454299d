package io.trillium.quant.block;

import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;

/** Q4_1 (block_q4_1): fp16 d, fp16 m, 16 bytes qs (nibble halves as Q4_0); y = d * q + m. */
public final class Q41Block {
    public static final int QK = 32;
    public static final int BYTES = 20;
    public static final int D = 0;
    public static final int M = 2;
    public static final int QS = 4;

    private Q41Block() {
    }

    public static void dequantize(MemorySegment src, long offset, float[] dst, int dstOffset, int n) {
        for (int b = 0; b < n / QK; b++) {
            long blk = offset + (long) b * BYTES;
            float d = F16Block.f16(src, blk + D);
            float m = F16Block.f16(src, blk + M);
            int o = dstOffset + b * QK;
            for (int j = 0; j < QK / 2; j++) {
                int q = src.get(JAVA_BYTE, blk + QS + j) & 0xFF;
                dst[o + j] = (q & 0x0F) * d + m;
                dst[o + j + QK / 2] = (q >> 4) * d + m;
            }
        }
    }
}
