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
 * Q2_K float route. Each slice of qs (W bytes) holds four W-element runs of codes (2 bits each); it
 * widens to ints once. Per 16-element sub-block the 4 possible values d*sc*q - dmin*m form a table
 * (one FMA, repeated to W lanes), and the codes, shifted into the low bits, pick from it with a lane
 * permute: selectFrom wraps indexes mod W, and the period-4 table makes the bits above the code
 * irrelevant at any width.
 */
public final class Q2KDot implements DotKernel {
    public static final Q2KDot INSTANCE = new Q2KDot();

    private static final FloatVector CODES = table(0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3);

    private Q2KDot() {
    }

    @Override
    public GgmlType type() {
        return GgmlType.Q2_K;
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
            long o = offset + b * 84L;
            float d = f16(w, o + 80), dmin = f16(w, o + 82);
            // qs[32h + l] holds, in bits 2j..2j+1, element 128h + 32j + l, of sub-block 8h + 2j + l/16
            for (int h = 0; h < 2; h++) {
                for (int p = 0; p < 32; p += W) {
                    IntVector q = (IntVector) ByteVector.fromMemorySegment(BW, w, o + 16 + 32 * h + p, LE)
                            .convertShape(VectorOperators.B2I, I, 0);
                    int xh = xOffset + b * 256 + 128 * h + p;
                    int is = 8 * h + (p >> 4);
                    for (int j = 0; j < 4; j += 2) {
                        int sa = u8(w, o + is + 2 * j), sb = u8(w, o + is + 2 * j + 2);
                        IntVector ta = CODES.fma(d * (sa & 0xF), -(dmin * (sa >> 4))).reinterpretAsInts();
                        IntVector tb = CODES.fma(d * (sb & 0xF), -(dmin * (sb >> 4))).reinterpretAsInts();
                        acc0 = q.lanewise(LSHR, 2 * j).selectFrom(ta).reinterpretAsFloats()
                                .fma(FloatVector.fromArray(F, x, xh + 32 * j), acc0);
                        acc1 = q.lanewise(LSHR, 2 * j + 2).selectFrom(tb).reinterpretAsFloats()
                                .fma(FloatVector.fromArray(F, x, xh + 32 * j + 32), acc1);
                    }
                }
            }
        }
        return acc0.add(acc1).reduceLanes(VectorOperators.ADD);
    }
}
