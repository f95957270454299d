package io.trillium.quant.block;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/** F16: IEEE binary16, little-endian; the scale type of every ggml block format too. */
public final class F16Block {
    public static final int BYTES = 2;

    /** Little-endian fp16 bits, shared by the block formats for their d/m scales. */
    public static final ValueLayout.OfShort LE_SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private F16Block() {
    }

    /** The fp16 at {@code src[offset]} as float (ggml's GGML_FP16_TO_FP32, exact). */
    public static float f16(MemorySegment src, long offset) {
        return Float.float16ToFloat(src.get(LE_SHORT, offset));
    }

    public static void dequantize(MemorySegment src, long offset, float[] dst, int dstOffset, int n) {
        for (int i = 0; i < n; i++) {
            dst[dstOffset + i] = f16(src, offset + (long) i * BYTES);
        }
    }

    /** Round-to-nearest-even like ggml's GGML_FP32_TO_FP16 (F16C vcvtps2ph with imm 0). */
    public static void quantize(float[] src, int srcOffset, MemorySegment dst, long dstOffset, int n) {
        for (int i = 0; i < n; i++) {
            dst.set(LE_SHORT, dstOffset + (long) i * BYTES, Float.floatToFloat16(src[srcOffset + i]));
        }
    }
}
