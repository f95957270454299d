package io.trillium.quant.simd;

import io.trillium.quant.DotKernel;
import io.trillium.quant.GgmlType;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;

import static io.trillium.quant.simd.KVec.*;
import static jdk.incubator.vector.VectorOperators.LSHR;

/**
 * Q2_K float route. Each 16 bytes of qs hold four 16-element sub-blocks (2 bits each); they widen to
 * ints once. Per sub-block the 4 possible values d*sc*q - dmin*m form a table (one FMA, repeated to
 * 16 lanes), and the codes, shifted into the low bits, pick from it with a lane permute: selectFrom
 * wraps indexes mod 16, and the period-4 table makes the bits above the code irrelevant.
 */
public final class Q2KDot implements DotKernel {
    public static final Q2KDot INSTANCE = new Q2KDot();

    private static final FloatVector CODES = FloatVector.fromArray(F,
            new float[] {0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3}, 0);

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
                IntVector qa = (IntVector) b16(w, o + 16 + 32 * h).convertShape(VectorOperators.B2I, I16, 0);
                IntVector qb = (IntVector) b16(w, o + 32 + 32 * h).convertShape(VectorOperators.B2I, I16, 0);
                int xh = xOffset + b * 256 + 128 * h;
                for (int j = 0; j < 4; j++) {
                    int is = 8 * h + 2 * j;
                    int sa = u8(w, o + is), sb = u8(w, o + is + 1);
                    IntVector ta = CODES.fma(d * (sa & 0xF), -(dmin * (sa >> 4))).reinterpretAsInts();
                    IntVector tb = CODES.fma(d * (sb & 0xF), -(dmin * (sb >> 4))).reinterpretAsInts();
                    acc0 = qa.lanewise(LSHR, 2 * j).selectFrom(ta).reinterpretAsFloats().fma(x(x, xh + 32 * j), acc0);
                    acc1 = qb.lanewise(LSHR, 2 * j).selectFrom(tb).reinterpretAsFloats().fma(x(x, xh + 32 * j + 16), acc1);
                }
            }
        }
        return acc0.add(acc1).reduceLanes(VectorOperators.ADD);
    }
}
