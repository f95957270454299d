package io.trillium.quant.simd;

import io.trillium.quant.DotKernel;
import io.trillium.quant.GgmlType;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;

import static io.trillium.quant.simd.Block32Simd.*;
import static io.trillium.quant.block.Q40Block.*;

/** Q4_0: nibbles split and re-centred in byte lanes, widened to floats, scaled once per block. */
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
        checkBlocks(n, QK);
        int nb = n / QK;
        FloatVector acc0 = FloatVector.zero(F);
        FloatVector acc1 = FloatVector.zero(F);
        int b = 0;
        for (; b + 1 < nb; b += 2) {
            long blk = offset + (long) b * BYTES;
            int xi = xOffset + b * QK;
            acc0 = block(w, blk, x, xi, acc0);
            acc1 = block(w, blk + BYTES, x, xi + QK, acc1);
        }
        if (b < nb) {
            acc0 = block(w, offset + (long) b * BYTES, x, xOffset + b * QK, acc0);
        }
        return acc0.add(acc1).reduceLanes(VectorOperators.ADD);
    }

    private static FloatVector block(MemorySegment w, long blk, float[] x, int xi, FloatVector acc) {
        ByteVector qs = ByteVector.fromMemorySegment(B16, w, blk + QS, LE);
        ByteVector lo = qs.and((byte) 0x0F).sub((byte) 8);
        ByteVector hi = qs.lanewise(VectorOperators.LSHR, 4).sub((byte) 8);
        FloatVector s = FloatVector.zero(F);
        for (int p = 0; p < 16 / L; p++) {
            s = ((FloatVector) lo.castShape(F, p)).fma(FloatVector.fromArray(F, x, xi + p * L), s);
            s = ((FloatVector) hi.castShape(F, p)).fma(FloatVector.fromArray(F, x, xi + 16 + p * L), s);
        }
        return s.fma(FloatVector.broadcast(F, f16(w, blk + D)), acc);
    }
}
