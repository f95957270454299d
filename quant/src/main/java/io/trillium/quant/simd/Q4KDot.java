package io.trillium.quant.simd;

import io.trillium.quant.DotKernel;
import io.trillium.quant.GgmlType;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;

import static io.trillium.quant.simd.KVec.*;
import static jdk.incubator.vector.VectorOperators.LSHR;

/**
 * Q4_K float route. Per 32-element sub-block the 16 possible values d*sc*q - dmin*m are one vector
 * (one FMA over the codes 0..15); each 16 nibbles widen to ints and pick their values with a lane
 * permute, then one FMA with x. That replaces int-to-float convert + dequant FMA per 16 elements.
 * The byte widening and permute, not memory, still bound it (see Q4KIntDot for the integer route).
 */
public final class Q4KDot implements DotKernel {
    public static final Q4KDot INSTANCE = new Q4KDot();

    private Q4KDot() {
    }

    @Override
    public GgmlType type() {
        return GgmlType.Q4_K;
    }

    /** 0, 1, ..., 15: the 4-bit codes, for building each sub-block's 16-entry table of dequantized values. */
    private static final FloatVector CODES = FloatVector.fromArray(F, new float[] {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}, 0);

    @Override
    public float dot(MemorySegment w, long offset, float[] x, int xOffset, int n) {
        FloatVector acc0 = FloatVector.zero(F), acc1 = FloatVector.zero(F);
        FloatVector acc2 = FloatVector.zero(F), acc3 = FloatVector.zero(F);
        for (int b = 0; b < n / 256; b++) {
            long o = offset + b * 144L;
            int xb = xOffset + b * 256;
            float d = f16(w, o), dmin = f16(w, o + 2);
            long s = w.get(I64, o + 4);
            int s8 = w.get(I32, o + 12);
            for (int c = 0; c < 4; c++) {
                int j0 = 2 * c, j1 = 2 * c + 1;
                // table lookup instead of convert + FMA: the 16 possible values d*sc*q - dmin*m of a
                // sub-block sit in one vector, nibbles index it with a lane permute (vpermd)
                IntVector t1 = CODES.fma(d * scale(s, s8, j0), -(dmin * min(s, s8, j0))).reinterpretAsInts();
                IntVector t2 = CODES.fma(d * scale(s, s8, j1), -(dmin * min(s, s8, j1))).reinterpretAsInts();
                long q = o + 16 + 32 * c;
                int xc = xb + 64 * c;
                IntVector qa = (IntVector) b16(w, q).convertShape(VectorOperators.B2I, I16, 0);
                IntVector qb = (IntVector) b16(w, q + 16).convertShape(VectorOperators.B2I, I16, 0);
                acc0 = qa.and(0xF).selectFrom(t1).reinterpretAsFloats().fma(x(x, xc), acc0);
                acc1 = qb.and(0xF).selectFrom(t1).reinterpretAsFloats().fma(x(x, xc + 16), acc1);
                acc2 = qa.lanewise(LSHR, 4).and(0xF).selectFrom(t2).reinterpretAsFloats().fma(x(x, xc + 32), acc2);
                acc3 = qb.lanewise(LSHR, 4).and(0xF).selectFrom(t2).reinterpretAsFloats().fma(x(x, xc + 48), acc3);
            }
        }
        return acc0.add(acc1).add(acc2.add(acc3)).reduceLanes(VectorOperators.ADD);
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
