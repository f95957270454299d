package io.trillium.quant.simd;

import io.trillium.quant.DotKernel;
import io.trillium.quant.GgmlType;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;

import java.lang.foreign.MemorySegment;

import static io.trillium.quant.simd.KVec.*;
import static jdk.incubator.vector.VectorOperators.LSHR;

/**
 * Q4_K float route: each 16 bytes of nibbles widen to two 16-float vectors (low nibbles: sub-block 2c,
 * high: 2c+1), dequantized with one FMA (d*sc*q - dmin*m) and dotted with a second one. The
 * byte-to-float widening, not memory, bounds this route (see Q4KIntDot for the integer one).
 */
public final class Q4KDot implements DotKernel {
    public static final Q4KDot INSTANCE = new Q4KDot();

    private Q4KDot() {
    }

    @Override
    public GgmlType type() {
        return GgmlType.Q4_K;
    }

    @Override
    public float dot(MemorySegment w, long offset, float[] x, int xOffset, int n) {
        FloatVector acc0 = FloatVector.zero(F), acc1 = FloatVector.zero(F);
        FloatVector acc2 = FloatVector.zero(F), acc3 = FloatVector.zero(F);
        for (int b = 0; b < n / 256; b++) {
            long o = offset + b * 144L;
            int xb = xOffset + b * 256;
            float d = f16(w, o), dmin = f16(w, o + 2);
            // scale bytes: s0..s3 = sc|m-high-bits for j<4 ..., decoded as ggml get_scale_min_k4
            long s = w.get(I64, o + 4);
            int s8 = w.get(I32, o + 12);
            for (int c = 0; c < 4; c++) {
                int j0 = 2 * c, j1 = 2 * c + 1;
                float d1 = d * scale(s, s8, j0), m1 = dmin * min(s, s8, j0);
                float d2 = d * scale(s, s8, j1), m2 = dmin * min(s, s8, j1);
                FloatVector vd1 = FloatVector.broadcast(F, d1), vm1 = FloatVector.broadcast(F, -m1);
                FloatVector vd2 = FloatVector.broadcast(F, d2), vm2 = FloatVector.broadcast(F, -m2);
                long q = o + 16 + 32 * c;
                int xc = xb + 64 * c;
                ByteVector qa = b16(w, q), qb = b16(w, q + 16);
                acc0 = toFloat(qa.and((byte) 0xF)).fma(vd1, vm1).fma(x(x, xc), acc0);
                acc1 = toFloat(qb.and((byte) 0xF)).fma(vd1, vm1).fma(x(x, xc + 16), acc1);
                acc2 = toFloat(qa.lanewise(LSHR, 4)).fma(vd2, vm2).fma(x(x, xc + 32), acc2);
                acc3 = toFloat(qb.lanewise(LSHR, 4)).fma(vd2, vm2).fma(x(x, xc + 48), acc3);
            }
        }
        return acc0.add(acc1).add(acc2.add(acc3)).reduceLanes(jdk.incubator.vector.VectorOperators.ADD);
    }

    /** get_scale_min_k4 on the 12 scale bytes held as a LE long (bytes 0..7) and int (bytes 8..11). */
    static int scale(long s, int s8, int j) {
        if (j < 4) {
            return (int) (s >>> (8 * j)) & 63;
        }
        return ((s8 >>> (8 * (j - 4))) & 0xF) | ((int) (s >>> (8 * (j - 4) + 6)) & 3) << 4;
    }

    static int min(long s, int s8, int j) {
        if (j < 4) {
            return (int) (s >>> (8 * (j + 4))) & 63;
        }
        return ((s8 >>> (8 * (j - 4) + 4)) & 0xF) | ((int) (s >>> (8 * j + 6)) & 3) << 4;
    }
}
