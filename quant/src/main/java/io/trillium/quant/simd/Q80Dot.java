package io.trillium.quant.simd;

import io.trillium.quant.DotKernel;
import io.trillium.quant.GgmlType;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;

import static io.trillium.quant.block.Q80Block.BYTES;
import static io.trillium.quant.block.Q80Block.QK;
import static io.trillium.quant.block.Q80Block.QS;
import static io.trillium.quant.simd.Block32Simd.*;

/** Q8_0 float route: widen int8 quants to floats, dot with x per block, scale once per block. */
public final class Q80Dot implements DotKernel {
    public static final Q80Dot INSTANCE = new Q80Dot();

    private Q80Dot() {
    }

    @Override
    public GgmlType type() {
        return GgmlType.Q8_0;
    }

    @Override
    public float dot(MemorySegment w, long offset, float[] x, int xOffset, int n) {
        return dotRow(w, offset, x, xOffset, n);
    }

    /** Rows one by one through a statically bound dotRow, whatever the profile of the interface's default. */
    @Override
    public void matVec(MemorySegment w, long offset, long rowStride, float[] x, int n,
                       float[] y, int rowStart, int rowEnd) {
        for (int r = rowStart; r < rowEnd; r++) {
            y[r] = dotRow(w, offset + r * rowStride, x, 0, n);
        }
    }

    /**
     * One block per step, written out in one method: a helper per block (called for a pair of blocks) was
     * left out of line once C2 recompiled the row inside a batched caller at 8 lanes, and boxed its vectors.
     */
    private static float dotRow(MemorySegment w, long offset, float[] x, int xOffset, int n) {
        Block32Simd.checkBlocks(n, QK);
        int nb = n / QK;
        FloatVector acc = FloatVector.zero(F);
        for (int b = 0; b < nb; b++) {
            long blk = offset + (long) b * BYTES;
            int xi = xOffset + b * QK;
            FloatVector s = FloatVector.zero(F);
            for (int j = 0; j < QK; j += L) {   // L quants widened to floats (the first fma is a product)
                FloatVector q = (FloatVector) ByteVector.fromMemorySegment(B, w, blk + QS + j, LE)
                        .convertShape(VectorOperators.B2F, F, 0);
                s = q.fma(FloatVector.fromArray(F, x, xi + j), s);
            }
            acc = s.fma(FloatVector.broadcast(F, f16(w, blk)), acc);
        }
        return acc.reduceLanes(VectorOperators.ADD);
    }
}
