package io.trillium.quant.simd;

import io.trillium.quant.DotKernel;
import io.trillium.quant.GgmlType;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static io.trillium.quant.simd.KVec.*;

/**
 * Q6_K float route: a slice (W bytes) of ql and one of qh unpack (on the 32-bit view) to W codes of
 * two 16-element sub-blocks, which widen to floats, are dequantized as (q - 32)*d*sc by one FMA and
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
            long o = offset + b * 210L;
            float d = f16(w, o + 208);
            // steps of (half h, stream s, slice p). The loop body is kept this small on purpose: C2
            // parses Vector API calls into many nodes, and a body with both streams unrolled parsed into
            // 42,000 without tiered compilation, near where C2 stops expanding late-inlined intrinsics
            // (see Block32Simd), which leaves vectors boxed.
            for (int it = 0; it < 4 * 32 / W; it++) {
                int h = it / (64 / W), s = (it / (32 / W)) & 1, p = (it % (32 / W)) * W;
                // ql[32s + l] low nibbles are elements 32s + l, high nibbles 64 + 32s + l (of this half);
                // their top two bits are bits 2s..2s+1 and 2s+4..2s+5 of qh[l]. Bit fiddling happens on
                // the 32-bit view: x86 has no byte shifts, so byte-lane shifts cost a widen/shift/pack
                // sequence; the masks keep every bit inside its byte
                // loaded as ints (W bytes), fiddled as ints, viewed as bytes once, for the conversion
                IntVector ql = IntVector.fromMemorySegment(IW, w, o + 64 * h + 32 * s + p, LE);
                IntVector qh = IntVector.fromMemorySegment(IW, w, o + 128 + 32 * h + p, LE)
                        .lanewise(VectorOperators.LSHR, 2 * s);
                ByteVector lo = ql.and(M0F).or(qh.lanewise(VectorOperators.LSHL, 4).and(M30)).reinterpretAsBytes();
                ByteVector hi = ql.lanewise(VectorOperators.LSHR, 4).and(M0F).or(qh.and(M30)).reinterpretAsBytes();
                long sc = o + 192 + 8 * h + 2 * s + (p >> 4);
                float d1 = d * w.get(ValueLayout.JAVA_BYTE, sc), d2 = d * w.get(ValueLayout.JAVA_BYTE, sc + 4);
                int xi = xOffset + b * 256 + 128 * h + 32 * s + p;
                // (q - 32) * d*sc as one FMA; one accumulator per nibble half
                acc0 = ((FloatVector) lo.convertShape(VectorOperators.B2F, F, 0)).fma(d1, -32 * d1)
                        .fma(FloatVector.fromArray(F, x, xi), acc0);
                acc1 = ((FloatVector) hi.convertShape(VectorOperators.B2F, F, 0)).fma(d2, -32 * d2)
                        .fma(FloatVector.fromArray(F, x, xi + 64), acc1);
            }
        }
        return acc0.add(acc1).reduceLanes(VectorOperators.ADD);
    }
}
