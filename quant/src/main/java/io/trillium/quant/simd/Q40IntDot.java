package io.trillium.quant.simd;

import io.trillium.quant.GgmlType;
import io.trillium.quant.QuantizedDotKernel;

import java.lang.foreign.MemorySegment;

/** STUB: replaced by the real implementation. */
public final class Q40IntDot implements QuantizedDotKernel {
    public static final Q40IntDot INSTANCE = new Q40IntDot();

    private Q40IntDot() {
    }

    @Override
    public GgmlType type() {
        return GgmlType.Q4_0;
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
