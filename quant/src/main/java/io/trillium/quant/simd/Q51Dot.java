package io.trillium.quant.simd;

import io.trillium.quant.DotKernel;
import io.trillium.quant.GgmlType;

import java.lang.foreign.MemorySegment;

/** STUB: replaced by the real implementation. */
public final class Q51Dot implements DotKernel {
    public static final Q51Dot INSTANCE = new Q51Dot();

    private Q51Dot() {
    }

    @Override
    public GgmlType type() {
        return GgmlType.Q5_1;
    }

    @Override
    public float dot(MemorySegment w, long offset, float[] x, int xOffset, int n) {
        throw new UnsupportedOperationException("TODO");
    }
}
