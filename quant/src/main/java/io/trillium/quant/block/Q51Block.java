package io.trillium.quant.block;

import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;

/** Q5_1 (block_q5_1): fp16 d, fp16 m, u32 qh, 16 bytes qs (bits as Q5_0, no offset); y = d * q + m. */
public final class Q51Block {
    public static final int QK = 32;
    public static final int BYTES = 24;
    public static final int D = 0;
    public static final int M = 2;
    public static final int QH = 4;
    public static final int QS = 8;

    private Q51Block() {
    }

    public static void dequantize(MemorySegment src, long offset, float[] dst, int dstOffset, int n) {
        for (int b = 0; b < n / QK; b++) {
            long blk = offset + (long) b * BYTES;
            float d = F16Block.f16(src, blk + D);
            float m = F16Block.f16(src, blk + M);
            int qh = src.get(Q50Block.LE_INT, blk + QH);
            int o = dstOffset + b * QK;
            for (int j = 0; j < QK / 2; j++) {
                int q = src.get(JAVA_BYTE, blk + QS + j) & 0xFF;
                int h0 = ((qh >>> j) << 4) & 0x10;
                int h1 = (qh >>> (j + 12)) & 0x10;
                dst[o + j] = ((q & 0x0F) | h0) * d + m;
                dst[o + j + QK / 2] = ((q >> 4) | h1) * d + m;
            }
        }
    }
}
