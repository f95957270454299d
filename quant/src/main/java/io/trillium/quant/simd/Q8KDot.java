package io.trillium.quant.simd;

import io.trillium.quant.DotKernel;
import io.trillium.quant.GgmlType;
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

    @Override
    public float dot(MemorySegment w, long offset, float[] x, int xOffset, int n) {
        FloatVector acc0 = FloatVector.zero(F), acc1 = FloatVector.zero(F);
        for (int b = 0; b < n / 256; b++) {
            long o = offset + b * 292L;
            FloatVector d = FloatVector.broadcast(F, w.get(F32, o));
            int xb = xOffset + b * 256;
            for (int k = 0; k < 256; k += 2 * W) {
                acc0 = toFloat(bw(w, o + 4 + k)).mul(d).fma(x(x, xb + k), acc0);
                acc1 = toFloat(bw(w, o + 4 + k + W)).mul(d).fma(x(x, xb + k + W), acc1);
            }
        }
        return acc0.add(acc1).reduceLanes(VectorOperators.ADD);
    }
}
