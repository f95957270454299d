package io.trillium.quant.simd;

import io.trillium.quant.DotKernel;
import io.trillium.quant.GgmlType;

import java.lang.foreign.MemorySegment;

/** STUB: replaced by the real implementation. */
public final class F32Dot implements DotKernel {
    public static final F32Dot INSTANCE = new F32Dot();

    private F32Dot() {
    }

    @Override
    public GgmlType type() {
        return GgmlType.F32;
    }

    @Override
    public float dot(MemorySegment w, long offset, float[] x, int xOffset, int n) {
        throw new UnsupportedOperationException("TODO");
    }
}
