package io.trillium.quant.simd;

import io.trillium.quant.DotKernel;
import io.trillium.quant.GgmlType;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;

import static io.trillium.quant.simd.Block32Simd.*;
import static io.trillium.quant.block.Q51Block.*;

/** Q5_1: unsigned nibbles plus the 5th bit from qh; the min term is m times the block sum of x. */
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
        checkBlocks(n, QK);
        int nb = n / QK;
        FloatVector acc = FloatVector.zero(F);
        FloatVector accm = FloatVector.zero(F);
        for (int b = 0; b < nb; b++) {
            long blk = offset + (long) b * BYTES;
            int xi = xOffset + b * QK;
            ByteVector qs = ByteVector.fromMemorySegment(B16, w, blk + QS, LE);
            long qh = w.get(LE_INT, blk + QH);
            ByteVector lo = qs.and((byte) 0x0F).lanewise(VectorOperators.OR, (byte) 0x10, VectorMask.fromLong(B16, qh));
            ByteVector hi = qs.lanewise(VectorOperators.LSHR, 4)
                    .lanewise(VectorOperators.OR, (byte) 0x10, VectorMask.fromLong(B16, qh >>> 16));
            FloatVector s = FloatVector.zero(F);
            FloatVector sx = FloatVector.zero(F);
            for (int p = 0; p < 16 / L; p++) {
                FloatVector x0 = FloatVector.fromArray(F, x, xi + p * L);
                FloatVector x1 = FloatVector.fromArray(F, x, xi + 16 + p * L);
                s = ((FloatVector) lo.castShape(F, p)).fma(x0, s);
                s = ((FloatVector) hi.castShape(F, p)).fma(x1, s);
                sx = sx.add(x0).add(x1);
            }
            // sum (d q + m) x = d sum(q x) + m sum(x)
            acc = s.fma(FloatVector.broadcast(F, f16(w, blk + D)), acc);
            accm = sx.fma(FloatVector.broadcast(F, f16(w, blk + M)), accm);
        }
        return acc.add(accm).reduceLanes(VectorOperators.ADD);
    }
}
