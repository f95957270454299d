package io.trillium.quant.simd;

import io.trillium.quant.DotKernel;
import io.trillium.quant.GgmlType;

import java.lang.foreign.MemorySegment;

/** STUB: replaced by the real implementation. */
public final class IQ4XSDot implements DotKernel {
    public static final IQ4XSDot INSTANCE = new IQ4XSDot();

    private IQ4XSDot() {
    }

    @Override
    public GgmlType type() {
        return GgmlType.IQ4_XS;
    }

    @Override
    public float dot(MemorySegment w, long offset, float[] x, int xOffset, int n) {
        throw new UnsupportedOperationException("TODO");
    }
}
