package io.trillium.quant.block;

import java.lang.foreign.MemorySegment;

/** BF16: the top 16 bits of an IEEE binary32, little-endian. */
public final class BF16Block {
    public static final int BYTES = 2;

    private BF16Block() {
    }

    public static void dequantize(MemorySegment src, long offset, float[] dst, int dstOffset, int n) {
        for (int i = 0; i < n; i++) {
            int bits = src.get(F16Block.LE_SHORT, offset + (long) i * BYTES) & 0xFFFF;
            dst[dstOffset + i] = Float.intBitsToFloat(bits << 16);
        }
    }

    /** ggml_compute_fp32_to_bf16: round to nearest even, NaN forced quiet, subnormals kept. */
    public static short toBF16(float f) {
        int u = Float.floatToRawIntBits(f);
        if ((u & 0x7FFFFFFF) > 0x7F800000) {
            return (short) ((u >>> 16) | 64);
        }
        return (short) ((u + (0x7FFF + ((u >>> 16) & 1))) >>> 16);
    }

    public static void quantize(float[] src, int srcOffset, MemorySegment dst, long dstOffset, int n) {
        for (int i = 0; i < n; i++) {
            dst.set(F16Block.LE_SHORT, dstOffset + (long) i * BYTES, toBF16(src[srcOffset + i]));
        }
    }
}
