package io.trillium.quant.simd;

import io.trillium.quant.DotKernel;
import io.trillium.quant.GgmlType;

import java.lang.foreign.MemorySegment;

/** STUB: replaced by the real implementation. */
public final class Q8KDot implements DotKernel {
    public static final Q8KDot INSTANCE = new Q8KDot();

    private Q8KDot() {
    }

    @Override
    public GgmlType type() {
        return GgmlType.Q8_K;
    }

    @Override
    public float dot(MemorySegment w, long offset, float[] x, int xOffset, int n) {
        throw new UnsupportedOperationException("TODO");
    }
}
