package io.trillium.quant.simd;

import io.trillium.quant.GgmlType;
import io.trillium.quant.QuantizedDotKernel;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;

import java.lang.foreign.MemorySegment;

import static io.trillium.quant.simd.KVec.*;
import static jdk.incubator.vector.VectorOperators.B2I;
import static jdk.incubator.vector.VectorOperators.B2S;
import static jdk.incubator.vector.VectorOperators.LSHL;
import static jdk.incubator.vector.VectorOperators.LSHR;

/**
 * Q6_K x Q8_K integer route (ggml_vec_dot_q6_K_q8_K): 32 bytes each of ql[l], ql[l+32], qh[l] give four
 * 32-element runs of signed 6-bit quants (q-32 directly, so no bsums term); each widens to shorts,
 * multiplies the int8 activations (|q*a| <= 32*127), folds pairs to 16 ints, lanes 0-7 belonging to
 * one 16-element sub-block and 8-15 to the next, and takes a per-lane scale vector.
 */
public final class Q6KIntDot implements QuantizedDotKernel {
    public static final Q6KIntDot INSTANCE = new Q6KIntDot();

    /** PAIR[p] spreads int lanes (2p, 2p+1) of the 16 block scales over lanes (0-7, 8-15). */
    private static final VectorShuffle<Integer>[] PAIR = pairShuffles();

    private Q6KIntDot() {
    }

    @SuppressWarnings("unchecked")
    private static VectorShuffle<Integer>[] pairShuffles() {
        VectorShuffle<Integer>[] s = new VectorShuffle[8];
        for (int p = 0; p < 8; p++) {
            int[] idx = new int[16];
            for (int i = 0; i < 16; i++) {
                idx[i] = 2 * p + (i >= 8 ? 1 : 0);
            }
            s[p] = VectorShuffle.fromArray(I16, idx, 0);
        }
        return s;
    }

    @Override
    public GgmlType type() {
        return GgmlType.Q6_K;
    }

    @Override
    public GgmlType activationType() {
        return GgmlType.Q8_K;
    }

    @Override
    public float dot(MemorySegment w, long offset, MemorySegment xq, long xqOffset, int n) {
        FloatVector acc = FloatVector.zero(F);
        for (int b = 0; b < n / 256; b++) {
            long o = offset + b * 210L;
            long a = xqOffset + b * 292L;
            float d = xq.get(F32, a) * f16(w, o + 208);
            IntVector sc = (IntVector) b16(w, o + 192).convertShape(B2I, I16, 0);
            IntVector isum = IntVector.zero(I16);
            for (int h = 0; h < 2; h++) {
                ByteVector qa = b32(w, o + 64 * h), qc = b32(w, o + 64 * h + 32), hb = b32(w, o + 128 + 32 * h);
                ByteVector q1 = qa.and((byte) 0xF).or(hb.and((byte) 3).lanewise(LSHL, 4)).sub((byte) 32);
                ByteVector q2 = qc.and((byte) 0xF).or(hb.and((byte) 0xC).lanewise(LSHL, 2)).sub((byte) 32);
                ByteVector q3 = qa.lanewise(LSHR, 4).or(hb.and((byte) 0x30)).sub((byte) 32);
                ByteVector q4 = qc.lanewise(LSHR, 4).or(hb.lanewise(LSHR, 6).lanewise(LSHL, 4)).sub((byte) 32);
                long ah = a + 4 + 128 * h;
                int p = 4 * h;
                isum = isum.add(prod(q1, xq, ah).mul(sc.rearrange(PAIR[p])))
                        .add(prod(q2, xq, ah + 32).mul(sc.rearrange(PAIR[p + 1])))
                        .add(prod(q3, xq, ah + 64).mul(sc.rearrange(PAIR[p + 2])))
                        .add(prod(q4, xq, ah + 96).mul(sc.rearrange(PAIR[p + 3])));
            }
            acc = ((FloatVector) isum.convert(VectorOperators.I2F, 0)).fma(FloatVector.broadcast(F, d), acc);
        }
        return acc.reduceLanes(VectorOperators.ADD);
    }

    private static IntVector prod(ByteVector q, MemorySegment xq, long at) {
        ShortVector qs = (ShortVector) q.convertShape(B2S, S32, 0);
        ShortVector as = (ShortVector) b32(xq, at).convertShape(B2S, S32, 0);
        return Q4KIntDot.pairs(qs.mul(as));
    }
}
