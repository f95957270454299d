package io.trillium.quant.simd;

import io.trillium.quant.GgmlType;
import io.trillium.quant.QuantizedDotKernel;

import java.lang.foreign.MemorySegment;

/** STUB: replaced by the real implementation. */
public final class Q6KIntDot implements QuantizedDotKernel {
    public static final Q6KIntDot INSTANCE = new Q6KIntDot();

    private Q6KIntDot() {
    }

    @Override
    public GgmlType type() {
        return GgmlType.Q6_K;
    }

    @Override
    public GgmlType activationType() {
        return GgmlType.Q8_K;
    }

    @Override
    public float dot(MemorySegment w, long offset, MemorySegment xq, long xqOffset, int n) {
        throw new UnsupportedOperationException("TODO");
    }
}
