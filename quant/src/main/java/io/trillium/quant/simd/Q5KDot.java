package io.trillium.quant.simd;

import io.trillium.quant.DotKernel;
import io.trillium.quant.GgmlType;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;

import static io.trillium.quant.simd.KVec.*;

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
        for (int b = 0; b < n / 256; b++) {
            long o = offset + b * 176L;
            float d = f16(w, o), dmin = f16(w, o + 2);
            long s = w.get(I64, o + 4);
            int s8 = w.get(I32, o + 12);
            long scs = Q4KDot.scales(s, s8), mns = Q4KDot.mins(s, s8);
            // steps of (chunk c, slice p): a small loop body stays within C2's inlining node budget
            for (int it = 0; it < 4 * 32 / W; it++) {
                int c = it / (32 / W), p = (it % (32 / W)) * W;
                float d1 = d * ((int) (scs >>> (16 * c)) & 0xFF), m1 = dmin * ((int) (mns >>> (16 * c)) & 0xFF);
                float d2 = d * ((int) (scs >>> (16 * c + 8)) & 0xFF), m2 = dmin * ((int) (mns >>> (16 * c + 8)) & 0xFF);
                ByteVector q = bw(w, o + 48 + 32 * c + p);
                // bits 2c and 2c+1 of qh[l], moved to bit 4
                ByteVector qh = bw(w, o + 16 + p);
                ByteVector lo = q.and((byte) 0xF).or(shl(shr(qh, 2 * c, -1), 4, M10));
                ByteVector hi = shr(q, 4, M0F).or(shl(shr(qh, 2 * c, -1), 3, M10));
                int xi = xOffset + b * 256 + 64 * c + p;
                acc0 = toFloat(lo).fma(d1, -m1).fma(x(x, xi), acc0);
                acc1 = toFloat(hi).fma(d2, -m2).fma(x(x, xi + 32), acc1);
            }
        }
        return acc0.add(acc1).reduceLanes(VectorOperators.ADD);
    }
}
