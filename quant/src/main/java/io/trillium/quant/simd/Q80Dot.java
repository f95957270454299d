package io.trillium.quant.simd;

import io.trillium.quant.DotKernel;
import io.trillium.quant.GgmlType;

import java.lang.foreign.MemorySegment;

/** STUB: replaced by the real implementation. */
public final class Q80Dot implements DotKernel {
    public static final Q80Dot INSTANCE = new Q80Dot();

    private Q80Dot() {
    }

    @Override
    public GgmlType type() {
        return GgmlType.Q8_0;
    }

    @Override
    public float dot(MemorySegment w, long offset, float[] x, int xOffset, int n) {
        throw new UnsupportedOperationException("TODO");
    }
}
