package io.trillium.quant.block;

import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;

/** Q8_0 (block_q8_0): fp16 d, then 32 int8 qs; y = d * qs[j]. */
public final class Q80Block {
    public static final int QK = 32;
    public static final int BYTES = 34;
    public static final int D = 0;
    public static final int QS = 2;

    private Q80Block() {
    }

    public static void dequantize(MemorySegment src, long offset, float[] dst, int dstOffset, int n) {
        for (int b = 0; b < n / QK; b++) {
            long blk = offset + (long) b * BYTES;
            float d = F16Block.f16(src, blk + D);
            for (int j = 0; j < QK; j++) {
                dst[dstOffset + b * QK + j] = src.get(JAVA_BYTE, blk + QS + j) * d;
            }
        }
    }

    /**
     * ggml's quantize_row_q8_0_ref: d = amax / 127, q = roundf(x / d) (half away from zero).
     * Note x * (1/d), not x / d, exactly as ggml; d is stored as fp16 but the float d is used to scale.
     */
    public static void quantize(float[] src, int srcOffset, MemorySegment dst, long dstOffset, int n) {
        for (int b = 0; b < n / QK; b++) {
            int s = srcOffset + b * QK;
            long blk = dstOffset + (long) b * BYTES;
            float amax = 0f;
            for (int j = 0; j < QK; j++) {
                amax = Math.max(amax, Math.abs(src[s + j]));
            }
            float d = amax / ((1 << 7) - 1);
            float id = d != 0f ? 1.0f / d : 0.0f;
            dst.set(F16Block.LE_SHORT, blk + D, Float.floatToFloat16(d));
            for (int j = 0; j < QK; j++) {
                dst.set(JAVA_BYTE, blk + QS + j, (byte) roundf(src[s + j] * id));
            }
        }
    }

    /** C roundf: nearest, ties away from zero (Math.round rounds ties up, which differs for negatives). */
    static int roundf(float x) {
        return (int) Math.copySign(Math.floor(Math.abs((double) x) + 0.5), x);
    }
}
