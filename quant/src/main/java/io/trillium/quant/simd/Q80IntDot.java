package io.trillium.quant.simd;

import io.trillium.quant.GgmlType;
import io.trillium.quant.QuantizedDotKernel;

import java.lang.foreign.MemorySegment;

/** STUB: replaced by the real implementation. */
public final class Q80IntDot implements QuantizedDotKernel {
    public static final Q80IntDot INSTANCE = new Q80IntDot();

    private Q80IntDot() {
    }

    @Override
    public GgmlType type() {
        return GgmlType.Q8_0;
    }

    @Override
    public GgmlType activationType() {
        return GgmlType.Q8_0;
    }

    @Override
    public float dot(MemorySegment w, long offset, MemorySegment xq, long xqOffset, int n) {
        throw new UnsupportedOperationException("TODO");
    }
}
