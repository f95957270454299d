package io.trillium.quant.simd;

import io.trillium.quant.DotKernel;
import io.trillium.quant.GgmlType;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;

import static io.trillium.quant.block.Q51Block.*;
import static io.trillium.quant.simd.Block32Simd.*;

/**
 * Q5_1: unsigned nibbles plus the 5th bit from qh; the min term is m times the block sum of x.
 * <p>The block loop lives in one method with no non-trivial helpers: C2 must see every Vector API
 * call inside a single compilation to intrinsify it.
 */
public final class Q51Dot implements DotKernel {
    public static final Q51Dot INSTANCE = new Q51Dot();

    private Q51Dot() {
    }

    @Override
    public GgmlType type() {
        return GgmlType.Q5_1;
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
        FloatVector accm = FloatVector.zero(F); // sum over blocks of m * (sum of x)
        for (int b = 0; b < nb; b++) {
            long blk = offset + (long) b * BYTES;
            int xi = xOffset + b * QK;
            ByteVector qs = ByteVector.fromMemorySegment(B16, w, blk + QS, LE);
            long qh = w.get(LE_INT, blk + QH);
            ByteVector lo = qs.and((byte) 0x0F)
                    .lanewise(VectorOperators.OR, (byte) 0x10, VectorMask.fromLong(B16, qh & 0xFFFF));
            ByteVector hi = qs.reinterpretAsInts().lanewise(VectorOperators.LSHR, 4).reinterpretAsBytes()
                    .and((byte) 0x0F)
                    .lanewise(VectorOperators.OR, (byte) 0x10, VectorMask.fromLong(B16, (qh >>> 16) & 0xFFFF));
            // elements [0, 16) are the low nibbles, [16, 32) the high ones
            FloatVector x0 = FloatVector.fromArray(F, x, xi);
            FloatVector x1 = FloatVector.fromArray(F, x, xi + 16);
            FloatVector s = ((FloatVector) hi.convertShape(VectorOperators.B2F, F, 0))
                    .fma(x1, ((FloatVector) lo.convertShape(VectorOperators.B2F, F, 0)).mul(x0));
            FloatVector sx = x0.add(x1);
            if (L == 8) { // AVX2: a second vector per half; the part index must be a constant
                FloatVector x2 = FloatVector.fromArray(F, x, xi + 8);
                FloatVector x3 = FloatVector.fromArray(F, x, xi + 24);
                s = ((FloatVector) lo.convertShape(VectorOperators.B2F, F, 1)).fma(x2, s);
                s = ((FloatVector) hi.convertShape(VectorOperators.B2F, F, 1)).fma(x3, s);
                sx = sx.add(x2).add(x3);
            }
            // sum (d q + m) x = d sum(q x) + m sum(x)
            acc = s.fma(FloatVector.broadcast(F, Float.float16ToFloat(w.get(LE_SHORT, blk + D))), acc);
            accm = sx.fma(FloatVector.broadcast(F, Float.float16ToFloat(w.get(LE_SHORT, blk + M))), accm);
        }
        return acc.add(accm).reduceLanes(VectorOperators.ADD);
    }
}
