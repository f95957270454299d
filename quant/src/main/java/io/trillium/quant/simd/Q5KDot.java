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

    /** Rows one by one through this class's dot (the interface default's call site is shared by every kernel). */
    @Override
    public void matVec(MemorySegment w, long offset, long rowStride, float[] x, int n,
                       float[] y, int rowStart, int rowEnd) {
        for (int r = rowStart; r < rowEnd; r++) {
            y[r] = dot(w, offset + r * rowStride, x, 0, n);
        }
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
                ByteVector q = ByteVector.fromMemorySegment(BW, w, o + 48 + 32 * c + p, LE);
                // bits 2c and 2c+1 of qh[l], moved to bit 4
                ByteVector qh = ByteVector.fromMemorySegment(BW, w, o + 16 + p, LE);
                ByteVector lo = q.and((byte) 0xF).or(qh.reinterpretAsInts().lanewise(VectorOperators.LSHR, 2 * c)
                        .and(-1).reinterpretAsBytes().reinterpretAsInts().lanewise(VectorOperators.LSHL, 4).and(M10)
                        .reinterpretAsBytes());
                ByteVector hi = q.reinterpretAsInts().lanewise(VectorOperators.LSHR, 4).and(M0F).reinterpretAsBytes()
                        .or(qh.reinterpretAsInts().lanewise(VectorOperators.LSHR, 2 * c).and(-1).reinterpretAsBytes()
                        .reinterpretAsInts().lanewise(VectorOperators.LSHL, 3).and(M10).reinterpretAsBytes());
                int xi = xOffset + b * 256 + 64 * c + p;
                acc0 = ((FloatVector) lo.convertShape(VectorOperators.B2F, F, 0)).fma(d1, -m1)
                        .fma(FloatVector.fromArray(F, x, xi), acc0);
                acc1 = ((FloatVector) hi.convertShape(VectorOperators.B2F, F, 0)).fma(d2, -m2)
                        .fma(FloatVector.fromArray(F, x, xi + 32), acc1);
            }
        }
        return acc0.add(acc1).reduceLanes(VectorOperators.ADD);
    }
}
