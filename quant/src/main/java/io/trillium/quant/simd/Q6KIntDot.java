package io.trillium.quant.simd;

import io.trillium.quant.GgmlType;
import io.trillium.quant.QuantizedDotKernel;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static io.trillium.quant.simd.KVec.*;

/**
 * Q6_K x Q8_K integer route (ggml_vec_dot_q6_K_q8_K). Each 16 bytes of ql/qh unpack to two whole
 * 16-element sub-blocks of unsigned 6-bit quants; they and the int8 activations widen to ints, W at a time,
 * multiply, take the sub-block scale and accumulate in ints. The -32 bias is applied once per
 * sub-block through Q8_K's bsums: sum (q-32)*a = sum q*a - 32*bsum.
 */
public final class Q6KIntDot implements QuantizedDotKernel {
    public static final Q6KIntDot INSTANCE = new Q6KIntDot();

    private Q6KIntDot() {
    }

    @Override
    public GgmlType type() {
        return GgmlType.Q6_K;
    }

    @Override
    public GgmlType activationType() {
        return GgmlType.Q8_K;
    }

    /** Rows one by one through this class's dot (the interface defaults' call sites are shared by every kernel). */
    @Override
    public void matVec(MemorySegment w, long offset, long rowStride, MemorySegment xq, int n,
                       float[] y, int rowStart, int rowEnd) {
        for (int r = rowStart; r < rowEnd; r++) {
            y[r] = dot(w, offset + r * rowStride, xq, 0, n);
        }
    }

    @Override
    public void matMul(MemorySegment w, long offset, long rowStride, MemorySegment xq, long xqStride, int tokens,
                       int n, float[] y, int yOff, int yStride, int rowStart, int rowEnd) {
        for (int t = 0; t < tokens; t++) {
            for (int r = rowStart; r < rowEnd; r++) {
                y[yOff + t * yStride + r] = dot(w, offset + r * rowStride, xq, t * xqStride, n);
            }
        }
    }

    @Override
    public float dot(MemorySegment w, long offset, MemorySegment xq, long xqOffset, int n) {
        FloatVector acc = FloatVector.zero(F);
        float biases = 0;
        for (int b = 0; b < n / 256; b++) {
            long o = offset + b * 210L;
            long a = xqOffset + b * 292L;
            float d = xq.get(F32, a) * f16(w, o + 208);
            IntVector isum = IntVector.zero(I);
            int bias = 0;
            // steps of (half h, stream s, slice p), small enough for C2's inlining node budget;
            // see Q6KDot for the element walk
            for (int it = 0; it < 4 * 32 / W; it++) {
                int h = it / (64 / W), s = (it / (32 / W)) & 1, p = (it % (32 / W)) * W;
                // loaded as ints, fiddled as ints, viewed as bytes once (see Q6KDot)
                IntVector ql = IntVector.fromMemorySegment(IW, w, o + 64 * h + 32 * s + p, LE);
                IntVector qh = IntVector.fromMemorySegment(IW, w, o + 128 + 32 * h + p, LE)
                        .lanewise(VectorOperators.LSHR, 2 * s);
                ByteVector lo = ql.and(M0F).or(qh.lanewise(VectorOperators.LSHL, 4).and(M30)).reinterpretAsBytes();
                ByteVector hi = ql.lanewise(VectorOperators.LSHR, 4).and(M0F).or(qh.and(M30)).reinterpretAsBytes();
                int j1 = 8 * h + 2 * s + (p >> 4), j2 = j1 + 4; // sub-block indices of lo and hi
                int sc1 = w.get(ValueLayout.JAVA_BYTE, o + 192 + j1), sc2 = w.get(ValueLayout.JAVA_BYTE, o + 192 + j2);
                IntVector p1 = ((IntVector) lo.convertShape(VectorOperators.B2I, I, 0))
                        .mul(((IntVector) ByteVector.fromMemorySegment(BW, xq, a + 4 + 16L * j1 + (p & 15), LE)
                        .convertShape(VectorOperators.B2I, I, 0)));
                IntVector p2 = ((IntVector) hi.convertShape(VectorOperators.B2I, I, 0))
                        .mul(((IntVector) ByteVector.fromMemorySegment(BW, xq, a + 4 + 16L * j2 + (p & 15), LE)
                        .convertShape(VectorOperators.B2I, I, 0)));
                isum = isum.add(p1.mul(sc1)).add(p2.mul(sc2));
                if ((p & 15) == 0) {   // once per sub-block
                    bias += sc1 * xq.get(U16, a + 260 + 2L * j1) + sc2 * xq.get(U16, a + 260 + 2L * j2);
                }
            }
            acc = ((FloatVector) isum.convert(VectorOperators.I2F, 0)).fma(FloatVector.broadcast(F, d), acc);
            biases += d * (32 * bias);
        }
        return acc.reduceLanes(VectorOperators.ADD) - biases;
    }
}
