package io.trillium.quant.simd;

import io.trillium.quant.DotKernel;
import io.trillium.quant.GgmlType;

import java.lang.foreign.MemorySegment;

/** STUB: replaced by the real implementation. */
public final class BF16Dot implements DotKernel {
    public static final BF16Dot INSTANCE = new BF16Dot();

    private BF16Dot() {
    }

    @Override
    public GgmlType type() {
        return GgmlType.BF16;
    }

    @Override
    public float dot(MemorySegment w, long offset, float[] x, int xOffset, int n) {
        throw new UnsupportedOperationException("TODO");
    }
}
