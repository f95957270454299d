package io.trillium.quant.block;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;

/**
 * Q5_0 (block_q5_0): fp16 d, 4 bytes qh (a little-endian u32), 16 bytes qs. Element j (0..15) is
 * the low nibble of qs[j] with bit j of qh as bit 4; element j + 16 the high nibble with bit j + 16.
 * y = d * (q - 16).
 */
public final class Q50Block {
    public static final int QK = 32;
    public static final int BYTES = 22;
    public static final int D = 0;
    public static final int QH = 2;
    public static final int QS = 6;

    static final ValueLayout.OfInt LE_INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private Q50Block() {
    }

    public static void dequantize(MemorySegment src, long offset, float[] dst, int dstOffset, int n) {
        for (int b = 0; b < n / QK; b++) {
            long blk = offset + (long) b * BYTES;
            float d = F16Block.f16(src, blk + D);
            int qh = src.get(LE_INT, blk + QH);
            int o = dstOffset + b * QK;
            for (int j = 0; j < QK / 2; j++) {
                int q = src.get(JAVA_BYTE, blk + QS + j) & 0xFF;
                int h0 = ((qh >>> j) << 4) & 0x10;
                int h1 = (qh >>> (j + 12)) & 0x10;
                dst[o + j] = (((q & 0x0F) | h0) - 16) * d;
                dst[o + j + QK / 2] = (((q >> 4) | h1) - 16) * d;
            }
        }
    }
}
