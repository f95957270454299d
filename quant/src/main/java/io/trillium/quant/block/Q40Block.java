package io.trillium.quant.block;

import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;

/**
 * Q4_0 (block_q4_0): fp16 d, then 16 bytes qs. Element j (0..15) is the low nibble of qs[j],
 * element j + 16 the high nibble (halves, not interleaved); y = d * (q - 8).
 */
public final class Q40Block {
    public static final int QK = 32;
    public static final int BYTES = 18;
    public static final int D = 0;
    public static final int QS = 2;

    private Q40Block() {
    }

    public static void dequantize(MemorySegment src, long offset, float[] dst, int dstOffset, int n) {
        for (int b = 0; b < n / QK; b++) {
            long blk = offset + (long) b * BYTES;
            float d = F16Block.f16(src, blk + D);
            int o = dstOffset + b * QK;
            for (int j = 0; j < QK / 2; j++) {
                int q = src.get(JAVA_BYTE, blk + QS + j) & 0xFF;
                dst[o + j] = ((q & 0x0F) - 8) * d;
                dst[o + j + QK / 2] = ((q >> 4) - 8) * d;
            }
        }
    }

    /**
     * ggml's quantize_row_q4_0_ref: the signed value of largest magnitude maps to -8,
     * d = max / -8, q = min(15, (int) (x / d + 8.5)).
     */
    public static void quantize(float[] src, int srcOffset, MemorySegment dst, long dstOffset, int n) {
        for (int b = 0; b < n / QK; b++) {
            int s = srcOffset + b * QK;
            long blk = dstOffset + (long) b * BYTES;
            float amax = 0f;
            float max = 0f;
            for (int j = 0; j < QK; j++) {
                float v = src[s + j];
                if (amax < Math.abs(v)) {
                    amax = Math.abs(v);
                    max = v;
                }
            }
            float d = max / -8;
            float id = d != 0f ? 1.0f / d : 0.0f;
            dst.set(F16Block.LE_SHORT, blk + D, Float.floatToFloat16(d));
            for (int j = 0; j < QK / 2; j++) {
                // C's (int8_t) cast truncates toward zero; the argument is >= 0.5 here
                int x0 = Math.min(15, (int) (src[s + j] * id + 8.5f));
                int x1 = Math.min(15, (int) (src[s + QK / 2 + j] * id + 8.5f));
                dst.set(JAVA_BYTE, blk + QS + j, (byte) (x0 | (x1 << 4)));
            }
        }
    }
}
