package io.trillium.quant.simd;

import io.trillium.quant.DotKernel;
import io.trillium.quant.GgmlType;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;

import static io.trillium.quant.block.Q50Block.*;
import static io.trillium.quant.simd.Block32Simd.*;

/**
 * Q5_0: nibbles plus the 5th bit from qh (as a lane mask), re-centred, widened to floats.
 * <p>The block loop lives in one method with no non-trivial helpers: C2 must see every Vector API
 * call inside a single compilation to intrinsify it.
 */
public final class Q50Dot implements DotKernel {
    public static final Q50Dot INSTANCE = new Q50Dot();

    private Q50Dot() {
    }

    @Override
    public GgmlType type() {
        return GgmlType.Q5_0;
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

    /** The low L bits: one mask bit per lane of a slice. */
    private static final long LANE_BITS = (1L << L) - 1;

    private static float dotRow(MemorySegment w, long offset, float[] x, int xOffset, int n) {
        checkBlocks(n, QK);
        int nb = n / QK;
        FloatVector acc = FloatVector.zero(F);
        for (int b = 0; b < nb; b++) {
            long blk = offset + (long) b * BYTES;
            int xi = xOffset + b * QK;
            // slices of L quant bytes: element j's low nibble, j + 16's high one, with their 5th bits from qh;
            // every conversion is part 0 (a part-1 conversion of 16 bytes alone parsed into 26k nodes at 8 lanes)
            long qh = w.get(LE_INT, blk + QH) & 0xFFFFFFFFL;
            FloatVector s = FloatVector.zero(F);
            for (int p = 0; p < 16; p += L) {
                ByteVector qs = ByteVector.fromMemorySegment(B, w, blk + QS + p, LE);
                VectorMask<Byte> loBit = VectorMask.fromLong(B, (qh >>> p) & LANE_BITS);
                VectorMask<Byte> hiBit = VectorMask.fromLong(B, (qh >>> (16 + p)) & LANE_BITS);
                ByteVector lo = qs.and((byte) 0x0F).lanewise(VectorOperators.OR, (byte) 0x10, loBit).sub((byte) 16);
                ByteVector hi = qs.reinterpretAsInts().lanewise(VectorOperators.LSHR, 4).reinterpretAsBytes()
                        .and((byte) 0x0F).lanewise(VectorOperators.OR, (byte) 0x10, hiBit).sub((byte) 16);
                s = ((FloatVector) lo.convertShape(VectorOperators.B2F, F, 0))
                        .fma(FloatVector.fromArray(F, x, xi + p), s);
                s = ((FloatVector) hi.convertShape(VectorOperators.B2F, F, 0))
                        .fma(FloatVector.fromArray(F, x, xi + 16 + p), s);
            }
            acc = s.fma(FloatVector.broadcast(F, Float.float16ToFloat(w.get(LE_SHORT, blk + D))), acc);
        }
        return acc.reduceLanes(VectorOperators.ADD);
    }
}
