package io.trillium.quant.simd;

import io.trillium.quant.GgmlType;
import io.trillium.quant.QuantizedDotKernel;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;

import static io.trillium.quant.simd.KVec.*;
import static jdk.incubator.vector.VectorOperators.ASHR;
import static jdk.incubator.vector.VectorOperators.B2S;
import static jdk.incubator.vector.VectorOperators.LSHL;

/**
 * Q4_K x Q8_K integer route (ggml_vec_dot_q4_K_q8_K): per 32-element sub-block, nibbles and int8
 * activations widen to 32 shorts, multiply (|q*a| <= 15*127 fits), adjacent pairs fold into 16 ints
 * (the vpmaddwd the Vector API lacks, done with shifts on the int view), then times the 6-bit scale.
 * The min term uses Q8_K's bsums: sum_j dmin*m_j*(bsums[2j]+bsums[2j+1]), one float scale per block.
 */
public final class Q4KIntDot implements QuantizedDotKernel {
    public static final Q4KIntDot INSTANCE = new Q4KIntDot();

    private Q4KIntDot() {
    }

    @Override
    public GgmlType type() {
        return GgmlType.Q4_K;
    }

    @Override
    public GgmlType activationType() {
        return GgmlType.Q8_K;
    }

    @Override
    public float dot(MemorySegment w, long offset, MemorySegment xq, long xqOffset, int n) {
        FloatVector acc = FloatVector.zero(F);
        float mins = 0;
        for (int b = 0; b < n / 256; b++) {
            long o = offset + b * 144L;
            long a = xqOffset + b * 292L;
            float dx = xq.get(F32, a);
            float d = dx * f16(w, o), dmin = dx * f16(w, o + 2);
            long s = w.get(I64, o + 4);
            int s8 = w.get(I32, o + 12);
            IntVector isum = IntVector.zero(I16);
            int msum = 0;
            for (int c = 0; c < 4; c++) {
                int j0 = 2 * c, j1 = 2 * c + 1;
                ByteVector q = b32(w, o + 16 + 32 * c);
                ShortVector lo = (ShortVector) q.and((byte) 0xF).convertShape(B2S, S32, 0);
                ShortVector hi = (ShortVector) shr(q, 4, M0F).convertShape(B2S, S32, 0);
                ShortVector a0 = (ShortVector) b32(xq, a + 4 + 64 * c).convertShape(B2S, S32, 0);
                ShortVector a1 = (ShortVector) b32(xq, a + 4 + 64 * c + 32).convertShape(B2S, S32, 0);
                isum = isum.add(pairs(lo.mul(a0)).mul(Q4KDot.scale(s, s8, j0)))
                        .add(pairs(hi.mul(a1)).mul(Q4KDot.scale(s, s8, j1)));
                msum += Q4KDot.min(s, s8, j0) * (bsum(xq, a, 2 * j0) + bsum(xq, a, 2 * j0 + 1))
                        + Q4KDot.min(s, s8, j1) * (bsum(xq, a, 2 * j1) + bsum(xq, a, 2 * j1 + 1));
            }
            acc = ((FloatVector) isum.convert(VectorOperators.I2F, 0)).fma(FloatVector.broadcast(F, d), acc);
            mins += dmin * msum;
        }
        return acc.reduceLanes(VectorOperators.ADD) - mins;
    }

    /** Sums adjacent short lanes into ints: lane i of the int view holds (hi << 16) | lo. */
    static IntVector pairs(ShortVector p) {
        IntVector v = p.reinterpretAsInts();
        return v.lanewise(ASHR, 16).add(v.lanewise(LSHL, 16).lanewise(ASHR, 16));
    }

    static int bsum(MemorySegment xq, long a, int j) {
        return xq.get(U16, a + 260 + 2L * j);
    }
}
