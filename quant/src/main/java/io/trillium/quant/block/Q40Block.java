package io.trillium.quant.block;

import java.lang.foreign.MemorySegment;

/** STUB: replaced by the real implementation. */
public final class Q40Block {
    private Q40Block() {
    }

    public static void dequantize(MemorySegment src, long offset, float[] dst, int dstOffset, int n) {
        throw new UnsupportedOperationException("TODO");
    }

    public static void quantize(float[] src, int srcOffset, MemorySegment dst, long dstOffset, int n) {
        throw new UnsupportedOperationException("TODO");
    }
}
