package io.trillium.quant.simd;

import io.trillium.quant.DotKernel;
import io.trillium.quant.GgmlType;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;

import static io.trillium.quant.simd.KVec.*;

/**
 * Q2_K float route: each 16 bytes of qs hold four 16-element sub-blocks (2 bits each); every sub-block
 * is one vector, dequantized by one FMA (d*sc*q - dmin*m) and dotted by another.
 */
public final class Q2KDot implements DotKernel {
    public static final Q2KDot INSTANCE = new Q2KDot();

    private Q2KDot() {
    }

    @Override
    public GgmlType type() {
        return GgmlType.Q2_K;
    }

    @Override
    public float dot(MemorySegment w, long offset, float[] x, int xOffset, int n) {
        FloatVector acc0 = FloatVector.zero(F), acc1 = FloatVector.zero(F);
        for (int b = 0; b < n / 256; b++) {
            long o = offset + b * 84L;
            float d = f16(w, o + 80), dmin = f16(w, o + 82);
            for (int h = 0; h < 2; h++) {
                ByteVector qa = b16(w, o + 16 + 32 * h), qb = b16(w, o + 16 + 32 * h + 16);
                int xh = xOffset + b * 256 + 128 * h;
                for (int j = 0; j < 4; j++) {
                    int is = 8 * h + 2 * j;
                    int sa = u8(w, o + is), sb = u8(w, o + is + 1);
                    FloatVector va = toFloat(shr(qa, 2 * j, 0x0303030303030303L))
                            .fma(d * (sa & 0xF), -(dmin * (sa >> 4)));
                    FloatVector vb = toFloat(shr(qb, 2 * j, 0x0303030303030303L))
                            .fma(d * (sb & 0xF), -(dmin * (sb >> 4)));
                    acc0 = va.fma(x(x, xh + 32 * j), acc0);
                    acc1 = vb.fma(x(x, xh + 32 * j + 16), acc1);
                }
            }
        }
        return acc0.add(acc1).reduceLanes(VectorOperators.ADD);
    }
}
