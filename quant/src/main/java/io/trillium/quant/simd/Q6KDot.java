package io.trillium.quant.simd;

import io.trillium.quant.DotKernel;
import io.trillium.quant.GgmlType;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static io.trillium.quant.simd.KVec.*;
import static jdk.incubator.vector.VectorOperators.LSHL;
import static jdk.incubator.vector.VectorOperators.LSHR;

/**
 * Q6_K float route: per half and 16-lane slice k, 16 bytes each of ql[l], ql[l+32] and qh[l] assemble
 * four 6-bit vectors in byte lanes (elements l, l+32, l+64, l+96, each a whole 16-element sub-block),
 * which widen to floats and take their sub-block scale d*sc by one multiply.
 */
public final class Q6KDot implements DotKernel {
    public static final Q6KDot INSTANCE = new Q6KDot();

    private Q6KDot() {
    }

    @Override
    public GgmlType type() {
        return GgmlType.Q6_K;
    }

    @Override
    public float dot(MemorySegment w, long offset, float[] x, int xOffset, int n) {
        FloatVector acc0 = FloatVector.zero(F), acc1 = FloatVector.zero(F);
        FloatVector acc2 = FloatVector.zero(F), acc3 = FloatVector.zero(F);
        for (int b = 0; b < n / 256; b++) {
            long o = offset + b * 210L;
            float d = f16(w, o + 208);
            for (int h = 0; h < 2; h++) {
                long ql = o + 64 * h, qh = o + 128 + 32 * h, sc = o + 192 + 8 * h;
                int xh = xOffset + b * 256 + 128 * h;
                for (int k = 0; k < 2; k++) {
                    ByteVector a = b16(w, ql + 16 * k), c = b16(w, ql + 32 + 16 * k), hb = b16(w, qh + 16 * k);
                    ByteVector q1 = a.and((byte) 0xF).or(hb.and((byte) 3).lanewise(LSHL, 4)).sub((byte) 32);
                    ByteVector q2 = c.and((byte) 0xF).or(hb.and((byte) 0xC).lanewise(LSHL, 2)).sub((byte) 32);
                    ByteVector q3 = a.lanewise(LSHR, 4).or(hb.and((byte) 0x30)).sub((byte) 32);
                    ByteVector q4 = c.lanewise(LSHR, 4).or(hb.lanewise(LSHR, 6).lanewise(LSHL, 4)).sub((byte) 32);
                    int xk = xh + 16 * k;
                    acc0 = toFloat(q1).mul(d * s8(w, sc + k)).fma(x(x, xk), acc0);
                    acc1 = toFloat(q2).mul(d * s8(w, sc + k + 2)).fma(x(x, xk + 32), acc1);
                    acc2 = toFloat(q3).mul(d * s8(w, sc + k + 4)).fma(x(x, xk + 64), acc2);
                    acc3 = toFloat(q4).mul(d * s8(w, sc + k + 6)).fma(x(x, xk + 96), acc3);
                }
            }
        }
        return acc0.add(acc1).add(acc2.add(acc3)).reduceLanes(VectorOperators.ADD);
    }

    static int s8(MemorySegment s, long o) {
        return s.get(ValueLayout.JAVA_BYTE, o);
    }
}
