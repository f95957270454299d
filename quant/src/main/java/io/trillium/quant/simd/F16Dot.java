package io.trillium.quant.simd;

import io.trillium.quant.DotKernel;
import io.trillium.quant.GgmlType;

import java.lang.foreign.MemorySegment;

/** STUB: replaced by the real implementation. */
public final class F16Dot implements DotKernel {
    public static final F16Dot INSTANCE = new F16Dot();

    private F16Dot() {
    }

    @Override
    public GgmlType type() {
        return GgmlType.F16;
    }

    @Override
    public float dot(MemorySegment w, long offset, float[] x, int xOffset, int n) {
        throw new UnsupportedOperationException("TODO");
    }
}
