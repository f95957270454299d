package io.trillium.quant.block;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Q2_K: 256 elements in 16 sub-blocks of 16, 84 bytes.
 * {@code u8 scales[16]} (low nibble: scale, high nibble: min); {@code u8 qs[64]} (2-bit quants);
 * {@code f16 d; f16 dmin}. y = d * (sc & 0xF) * q - dmin * (sc >> 4).
 */
public final class Q2KBlock {
    private Q2KBlock() {
    }

    public static final int BLOCK_SIZE = 256;
    public static final int BLOCK_BYTES = 84;
    public static final int SCALES = 0;
    public static final int QS = 16;
    public static final int D = 80;
    public static final int DMIN = 82;

    static final ValueLayout.OfShort F16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    public static void dequantize(MemorySegment src, long offset, float[] dst, int dstOffset, int n) {
        for (int b = 0; b < n / BLOCK_SIZE; b++) {
            long o = offset + (long) b * BLOCK_BYTES;
            int y = dstOffset + b * BLOCK_SIZE;
            float d = Float.float16ToFloat(src.get(F16, o + D));
            float min = Float.float16ToFloat(src.get(F16, o + DMIN));
            int is = 0;
            // two halves of 128; each byte of qs[32h..32h+31] holds 4 quants, 2 bits per 32-element group
            for (int h = 0; h < 2; h++) {
                long q = o + QS + 32 * h;
                for (int shift = 0; shift < 8; shift += 2) {
                    for (int half = 0; half < 2; half++) {
                        int sc = src.get(ValueLayout.JAVA_BYTE, o + SCALES + is++) & 0xFF;
                        float dl = d * (sc & 0xF);
                        float ml = min * (sc >> 4);
                        for (int l = 0; l < 16; l++) {
                            int v = ((src.get(ValueLayout.JAVA_BYTE, q + 16 * half + l) & 0xFF) >> shift) & 3;
                            dst[y++] = dl * v - ml;
                        }
                    }
                }
            }
        }
    }
}
