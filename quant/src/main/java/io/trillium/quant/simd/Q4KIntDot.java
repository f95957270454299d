package io.trillium.quant.simd;

import io.trillium.quant.GgmlType;
import io.trillium.quant.QuantizedDotKernel;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;

import static io.trillium.quant.simd.KVec.*;

/**
 * Q4_K x Q8_K integer route (ggml_vec_dot_q4_K_q8_K): W nibbles and W int8 activations widen to
 * ints (vpmovzxbd/vpmovsxbd), multiply (vpmulld), take the 6-bit sub-block scale and accumulate in
 * ints; one int-to-float and FMA per block. The min term uses Q8_K's bsums:
 * sum_j dmin*m_j*(bsums[2j]+bsums[2j+1]). Without an int8 dot-product op (vpmaddubsw/vpdpbusd) in
 * the Vector API this widens both operands to 32 bits and ends up slower than the float route (about
 * 3.5 vs 4.8 GB/s of weights, one AVX-512 core). Widening to shorts with a 16-bit multiply and a
 * shift-based pair fold was slower still.
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
        float mins = 0;
        for (int b = 0; b < n / 256; b++) {
            long o = offset + b * 144L;
            long a = xqOffset + b * 292L;
            float dx = xq.get(F32, a);
            float d = dx * f16(w, o), dmin = dx * f16(w, o + 2);
            long s = w.get(I64, o + 4);
            int s8 = w.get(I32, o + 12);
            long scs = Q4KDot.scales(s, s8), mns = Q4KDot.mins(s, s8);
            IntVector isum = IntVector.zero(I);
            int msum = 0;
            for (int it = 0; it < 4 * 32 / W; it++) {
                int c = it / (32 / W), p = (it % (32 / W)) * W;
                int sc1 = (int) (scs >>> (16 * c)) & 0xFF, sc2 = (int) (scs >>> (16 * c + 8)) & 0xFF;
                // W quant bytes loaded as ints and fiddled as ints, viewed as bytes once per conversion (a
                // byte/int reinterpret chain compiled to boxed code in some JIT states: see Q6KDot)
                IntVector q = IntVector.fromMemorySegment(IW, w, o + 16 + 32 * c + p, LE);
                IntVector lo = (IntVector) q.and(M0F).reinterpretAsBytes().convertShape(VectorOperators.B2I, I, 0);
                IntVector hi = (IntVector) q.lanewise(VectorOperators.LSHR, 4).and(M0F).reinterpretAsBytes()
                        .convertShape(VectorOperators.B2I, I, 0);
                IntVector a0 = (IntVector) ByteVector.fromMemorySegment(BW, xq, a + 4 + 64 * c + p, LE)
                        .convertShape(VectorOperators.B2I, I, 0);
                IntVector a1 = (IntVector) ByteVector.fromMemorySegment(BW, xq, a + 4 + 64 * c + 32 + p, LE)
                        .convertShape(VectorOperators.B2I, I, 0);
                isum = isum.add(lo.mul(a0).mul(sc1)).add(hi.mul(a1).mul(sc2));
            }
            for (int j = 0; j < 8; j++) {
                msum += ((int) (mns >>> (8 * j)) & 0xFF) * (bsum(xq, a, 2 * j) + bsum(xq, a, 2 * j + 1));
            }
            acc = ((FloatVector) isum.convert(VectorOperators.I2F, 0)).fma(FloatVector.broadcast(F, d), acc);
            mins += dmin * msum;
        }
        return acc.reduceLanes(VectorOperators.ADD) - mins;
    }

    static int bsum(MemorySegment xq, long a, int j) {
        return xq.get(U16, a + 260 + 2L * j);
    }
}
