package io.trillium.quant.simd;

import io.trillium.quant.DotKernel;
import io.trillium.quant.GgmlType;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;

import static io.trillium.quant.simd.KVec.*;

/** Q8_K float route: int8 quants widen to floats, one multiply by the f32 d, one FMA. */
public final class Q8KDot implements DotKernel {
    public static final Q8KDot INSTANCE = new Q8KDot();

    private Q8KDot() {
    }

    @Override
    public GgmlType type() {
        return GgmlType.Q8_K;
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
            long o = offset + b * 292L;
            FloatVector d = FloatVector.broadcast(F, w.get(F32, o));
            int xb = xOffset + b * 256;
            for (int k = 0; k < 256; k += 2 * W) {
                acc0 = ((FloatVector) ByteVector.fromMemorySegment(BW, w, o + 4 + k, LE)
                        .convertShape(VectorOperators.B2F, F, 0)).mul(d)
                        .fma(FloatVector.fromArray(F, x, xb + k), acc0);
                acc1 = ((FloatVector) ByteVector.fromMemorySegment(BW, w, o + 4 + k + W, LE)
                        .convertShape(VectorOperators.B2F, F, 0)).mul(d)
                        .fma(FloatVector.fromArray(F, x, xb + k + W), acc1);
            }
        }
        return acc0.add(acc1).reduceLanes(VectorOperators.ADD);
    }
}
