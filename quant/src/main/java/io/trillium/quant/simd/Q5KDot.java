package io.trillium.quant.simd;

import io.trillium.quant.DotKernel;
import io.trillium.quant.GgmlType;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;

import static io.trillium.quant.simd.KVec.*;
import static jdk.incubator.vector.VectorOperators.LSHL;
import static jdk.incubator.vector.VectorOperators.LSHR;

/** Q5_K float route: Q4_K's walk with the fifth bit (qh[l] bit 2c / 2c+1) or-ed in as 16 before widening. */
public final class Q5KDot implements DotKernel {
    public static final Q5KDot INSTANCE = new Q5KDot();

    private Q5KDot() {
    }

    @Override
    public GgmlType type() {
        return GgmlType.Q5_K;
    }

    @Override
    public float dot(MemorySegment w, long offset, float[] x, int xOffset, int n) {
        FloatVector acc0 = FloatVector.zero(F), acc1 = FloatVector.zero(F);
        FloatVector acc2 = FloatVector.zero(F), acc3 = FloatVector.zero(F);
        for (int b = 0; b < n / 256; b++) {
            long o = offset + b * 176L;
            float d = f16(w, o), dmin = f16(w, o + 2);
            long s = w.get(I64, o + 4);
            int s8 = w.get(I32, o + 12);
            long scs = Q4KDot.scales(s, s8), mns = Q4KDot.mins(s, s8);
            // 8 steps of (chunk c, slice k): a small loop body stays within C2's inlining node budget
            for (int it = 0; it < 8; it++) {
                int c = it >> 1, k = it & 1;
                float d1 = d * ((int) (scs >>> (16 * c)) & 0xFF), m1 = dmin * ((int) (mns >>> (16 * c)) & 0xFF);
                float d2 = d * ((int) (scs >>> (16 * c + 8)) & 0xFF), m2 = dmin * ((int) (mns >>> (16 * c + 8)) & 0xFF);
                ByteVector q = b16(w, o + 48 + 32 * c + 16 * k);
                // bits 2c and 2c+1 of qh[l], moved to bit 4
                ByteVector qh = b16(w, o + 16 + 16 * k).lanewise(LSHR, 2 * c);
                ByteVector lo = q.and((byte) 0xF).or(qh.lanewise(LSHL, 4).and((byte) 0x10));
                ByteVector hi = q.lanewise(LSHR, 4).or(qh.lanewise(LSHL, 3).and((byte) 0x10));
                int xi = xOffset + b * 256 + 64 * c + 16 * k;
                if (k == 0) {
                    acc0 = toFloat(lo).fma(d1, -m1).fma(x(x, xi), acc0);
                    acc1 = toFloat(hi).fma(d2, -m2).fma(x(x, xi + 32), acc1);
                } else {
                    acc2 = toFloat(lo).fma(d1, -m1).fma(x(x, xi), acc2);
                    acc3 = toFloat(hi).fma(d2, -m2).fma(x(x, xi + 32), acc3);
                }
            }
        }
        return acc0.add(acc1).add(acc2.add(acc3)).reduceLanes(VectorOperators.ADD);
    }
}
