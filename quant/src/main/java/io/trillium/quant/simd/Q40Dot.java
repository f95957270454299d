package io.trillium.quant.simd;

import io.trillium.quant.DotKernel;
import io.trillium.quant.GgmlType;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;

import static io.trillium.quant.block.Q40Block.*;
import static io.trillium.quant.simd.Block32Simd.*;

/**
 * Q4_0: nibbles split and re-centred in byte lanes, widened to floats, scaled once per block.
 * <p>The block loop lives in one method with no non-trivial helpers: C2 must see every Vector API
 * call inside a single compilation to intrinsify it.
 */
public final class Q40Dot implements DotKernel {
    public static final Q40Dot INSTANCE = new Q40Dot();

    private Q40Dot() {
    }

    @Override
    public GgmlType type() {
        return GgmlType.Q4_0;
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
        checkBlocks(n, QK);
        int nb = n / QK;
        FloatVector acc = FloatVector.zero(F);
        for (int b = 0; b < nb; b++) {
            long blk = offset + (long) b * BYTES;
            int xi = xOffset + b * QK;
            ByteVector qs = ByteVector.fromMemorySegment(B16, w, blk + QS, LE);
            ByteVector lo = qs.and((byte) 0x0F).sub((byte) 8);
            ByteVector hi = qs.reinterpretAsInts().lanewise(VectorOperators.LSHR, 4).reinterpretAsBytes()
                    .and((byte) 0x0F).sub((byte) 8);
            // elements [0, 16) are the low nibbles, [16, 32) the high ones
            FloatVector x0 = FloatVector.fromArray(F, x, xi);
            FloatVector x1 = FloatVector.fromArray(F, x, xi + 16);
            FloatVector s = ((FloatVector) hi.convertShape(VectorOperators.B2F, F, 0))
                    .fma(x1, ((FloatVector) lo.convertShape(VectorOperators.B2F, F, 0)).mul(x0));
            if (L == 8) { // AVX2: a second vector per half; the part index must be a constant
                FloatVector x2 = FloatVector.fromArray(F, x, xi + 8);
                FloatVector x3 = FloatVector.fromArray(F, x, xi + 24);
                s = ((FloatVector) lo.convertShape(VectorOperators.B2F, F, 1)).fma(x2, s);
                s = ((FloatVector) hi.convertShape(VectorOperators.B2F, F, 1)).fma(x3, s);
            }
            acc = s.fma(FloatVector.broadcast(F, Float.float16ToFloat(w.get(LE_SHORT, blk + D))), acc);
        }
        return acc.reduceLanes(VectorOperators.ADD);
    }
}
