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
            int xb = xOffset + b * 256;
            float d = f16(w, o), dmin = f16(w, o + 2);
            long s = w.get(I64, o + 4);
            int s8 = w.get(I32, o + 12);
            ByteVector ha = b16(w, o + 16), hb = b16(w, o + 32);
            for (int c = 0; c < 4; c++) {
                int j0 = 2 * c, j1 = 2 * c + 1;
                FloatVector vd1 = FloatVector.broadcast(F, d * Q4KDot.scale(s, s8, j0));
                FloatVector vm1 = FloatVector.broadcast(F, -(dmin * Q4KDot.min(s, s8, j0)));
                FloatVector vd2 = FloatVector.broadcast(F, d * Q4KDot.scale(s, s8, j1));
                FloatVector vm2 = FloatVector.broadcast(F, -(dmin * Q4KDot.min(s, s8, j1)));
                long q = o + 48 + 32 * c;
                int xc = xb + 64 * c;
                ByteVector qa = b16(w, q), qb = b16(w, q + 16);
                // fifth bit: bit j of qh, moved to bit 4
                ByteVector la = qa.and((byte) 0xF).or(ha.lanewise(LSHR, j0).and((byte) 1).lanewise(LSHL, 4));
                ByteVector lb = qb.and((byte) 0xF).or(hb.lanewise(LSHR, j0).and((byte) 1).lanewise(LSHL, 4));
                ByteVector ua = qa.lanewise(LSHR, 4).or(ha.lanewise(LSHR, j1).and((byte) 1).lanewise(LSHL, 4));
                ByteVector ub = qb.lanewise(LSHR, 4).or(hb.lanewise(LSHR, j1).and((byte) 1).lanewise(LSHL, 4));
                acc0 = toFloat(la).fma(vd1, vm1).fma(x(x, xc), acc0);
                acc1 = toFloat(lb).fma(vd1, vm1).fma(x(x, xc + 16), acc1);
                acc2 = toFloat(ua).fma(vd2, vm2).fma(x(x, xc + 32), acc2);
                acc3 = toFloat(ub).fma(vd2, vm2).fma(x(x, xc + 48), acc3);
            }
        }
        return acc0.add(acc1).add(acc2.add(acc3)).reduceLanes(VectorOperators.ADD);
    }
}
