package io.trillium.quant.simd;

import io.trillium.quant.DotKernel;
import io.trillium.quant.GgmlType;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;

import static io.trillium.quant.simd.Block32Simd.*;

/** BF16 rows: widen to int lanes, shift into the top half of a float. */
public final class BF16Dot implements DotKernel {
    public static final BF16Dot INSTANCE = new BF16Dot();

    private BF16Dot() {
    }

    @Override
    public GgmlType type() {
        return GgmlType.BF16;
    }

    @Override
    public float dot(MemorySegment w, long offset, float[] x, int xOffset, int n) {
        return dotRow(w, offset, x, xOffset, n);
    }

    /** Rows one by one through the statically bound dotRow, whatever the profile of the interface default. */
    @Override
    public void matVec(MemorySegment w, long offset, long rowStride, float[] x, int n,
                       float[] y, int rowStart, int rowEnd) {
        for (int r = rowStart; r < rowEnd; r++) {
            y[r] = dotRow(w, offset + r * rowStride, x, 0, n);
        }
    }

    private static float dotRow(MemorySegment w, long offset, float[] x, int xOffset, int n) {
        FloatVector acc0 = FloatVector.zero(F);
        FloatVector acc1 = FloatVector.zero(F);
        int i = 0;
        // one vector per step into two accumulators in turn (even steps sum into one, odd into the other):
        // the loop body decodes one vector, written out once (a helper taking vectors boxes them wherever
        // C2 leaves it out of line)
        for (; i + L <= n; i += L) {
            // L bf16 values as floats: bits << 16 (the sign-extended top half shifts out)
            FloatVector f = ((IntVector) ShortVector.fromMemorySegment(S, w, offset + (long) i * 2, LE)
                    .convertShape(VectorOperators.S2I, I, 0)).lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
            FloatVector t = f.fma(FloatVector.fromArray(F, x, xOffset + i), acc0);
            acc0 = acc1;
            acc1 = t;
        }
        float sum = acc0.add(acc1).reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) {
            sum += Float.intBitsToFloat(w.get(LE_SHORT, offset + (long) i * 2) << 16) * x[xOffset + i];
        }
        return sum;
    }

}
