package io.trillium.quant.simd;

import io.trillium.quant.DotKernel;
import io.trillium.quant.GgmlType;

import java.lang.foreign.MemorySegment;

/** STUB: replaced by the real implementation. */
public final class Q3KDot implements DotKernel {
    public static final Q3KDot INSTANCE = new Q3KDot();

    private Q3KDot() {
    }

    @Override
    public GgmlType type() {
        return GgmlType.Q3_K;
    }

    @Override
    public float dot(MemorySegment w, long offset, float[] x, int xOffset, int n) {
        throw new UnsupportedOperationException("TODO");
    }
}
