package io.trillium.quant.simd;

import io.trillium.quant.DotKernel;
import io.trillium.quant.GgmlType;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.LongVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static io.trillium.quant.simd.KVec.*;
import static jdk.incubator.vector.VectorOperators.LSHL;
import static jdk.incubator.vector.VectorOperators.LSHR;

/**
 * Q6_K float route: 16 bytes of ql and 16 of qh unpack (on the 64-bit view) to two 16-element
 * sub-blocks of 6-bit codes, which widen to floats, are dequantized as (q - 32)*d*sc by one FMA and
 * dotted by another. 64 codes are too many for Q4_K's one-vector value table.
 */
public final class Q6KDot implements DotKernel {
    public static final Q6KDot INSTANCE = new Q6KDot();

    private Q6KDot() {
    }

    @Override
    public GgmlType type() {
        return GgmlType.Q6_K;
    }

    @Override
    public float dot(MemorySegment w, long offset, float[] x, int xOffset, int n) {
        FloatVector acc0 = FloatVector.zero(F), acc1 = FloatVector.zero(F);
        for (int b = 0; b < n / 256; b++) {
            long o = offset + b * 210L;
            float d = f16(w, o + 208);
            // 8 steps of (half h, stream s, slice k). The loop body is kept this small on purpose: C2
            // parses Vector API calls into many nodes, and a body that unpacks a whole half at once hits
            // its inlining node budget (NodeCountInliningCutoff), leaving vectors boxed (~8x slower).
            for (int it = 0; it < 8; it++) {
                int h = it >> 2, s = (it >> 1) & 1, k = it & 1;
                // ql[32s + l] low nibbles are elements 32s + l, high nibbles 64 + 32s + l (of this half);
                // their top two bits are bits 2s..2s+1 and 2s+4..2s+5 of qh[l]. Bit fiddling happens on
                // the 64-bit view: x86 has no byte shifts, so byte-lane shifts cost a widen/shift/pack
                // sequence; the masks keep every bit inside its byte
                LongVector ql = b16(w, o + 64 * h + 32 * s + 16 * k).reinterpretAsLongs();
                LongVector qh = b16(w, o + 128 + 32 * h + 16 * k).reinterpretAsLongs().lanewise(LSHR, 2 * s);
                ByteVector lo = ql.and(M0F).or(qh.lanewise(LSHL, 4).and(M30)).reinterpretAsBytes();
                ByteVector hi = ql.lanewise(LSHR, 4).and(M0F).or(qh.and(M30)).reinterpretAsBytes();
                long sc = o + 192 + 8 * h + 2 * s + k;
                float d1 = d * w.get(ValueLayout.JAVA_BYTE, sc), d2 = d * w.get(ValueLayout.JAVA_BYTE, sc + 4);
                int xi = xOffset + b * 256 + 128 * h + 32 * s + 16 * k;
                // (q - 32) * d*sc as one FMA; one accumulator per nibble half: a branch per slice that
                // picked between two pairs doubled the body C2 must inline (see the node budget above)
                acc0 = toFloat(lo).fma(d1, -32 * d1).fma(x(x, xi), acc0);
                acc1 = toFloat(hi).fma(d2, -32 * d2).fma(x(x, xi + 64), acc1);
            }
        }
        return acc0.add(acc1).reduceLanes(VectorOperators.ADD);
    }
}
