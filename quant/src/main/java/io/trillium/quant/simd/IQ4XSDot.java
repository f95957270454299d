package io.trillium.quant.simd;

import io.trillium.quant.DotKernel;
import io.trillium.quant.GgmlType;
import io.trillium.quant.block.IQ4XSBlock;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;

import static io.trillium.quant.simd.KVec.*;

/**
 * IQ4_XS float route: nibbles index the 16-entry kvalues table with one byte shuffle (pshufb) before
 * widening; one multiply by d*(ls-32) and one FMA per 16 elements.
 */
public final class IQ4XSDot implements DotKernel {
    public static final IQ4XSDot INSTANCE = new IQ4XSDot();

    private static final ByteVector KV = ByteVector.fromArray(B16, IQ4XSBlock.KVALUES, 0);

    private IQ4XSDot() {
    }

    @Override
    public GgmlType type() {
        return GgmlType.IQ4_XS;
    }

    @Override
    public float dot(MemorySegment w, long offset, float[] x, int xOffset, int n) {
        FloatVector acc0 = FloatVector.zero(F), acc1 = FloatVector.zero(F);
        for (int b = 0; b < n / 256; b++) {
            long o = offset + b * 136L;
            float d = f16(w, o);
            int sh = w.get(U16, o + 2) & 0xFFFF;
            int sl = w.get(I32, o + 4);
            for (int ib = 0; ib < 8; ib++) {
                int ls = ((sl >>> (4 * ib)) & 0xF) | (((sh >>> (2 * ib)) & 3) << 4);
                float dl = d * (ls - 32);
                ByteVector q = b16(w, o + 8 + 16 * ib);
                int xi = xOffset + b * 256 + 32 * ib;
                acc0 = toFloat(q.and((byte) 0xF).selectFrom(KV)).mul(dl).fma(x(x, xi), acc0);
                acc1 = toFloat(shr(q, 4, M0F).selectFrom(KV)).mul(dl).fma(x(x, xi + 16), acc1);
            }
        }
        return acc0.add(acc1).reduceLanes(VectorOperators.ADD);
    }
}
