package io.trillium.quant.simd;

import io.trillium.quant.GgmlType;
import io.trillium.quant.QuantizedDotKernel;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;

import static io.trillium.quant.block.Q80Block.BYTES;
import static io.trillium.quant.block.Q80Block.QK;
import static io.trillium.quant.block.Q80Block.QS;
import static io.trillium.quant.simd.Block32Simd.F;
import static io.trillium.quant.simd.Block32Simd.L;
import static io.trillium.quant.simd.Block32Simd.bytesToShorts;
import static io.trillium.quant.simd.Block32Simd.pairSum;
import static io.trillium.quant.simd.Block32Simd.f16;

/**
 * Q8_0 weights × Q8_0 activations (ggml_vec_dot_q8_0_q8_0): per block, int8 × int8 products in
 * int16 lanes, adjacent pairs summed into int32 lanes (exact), converted once and scaled once by
 * d_w * d_x. Exactness needs activations in [-127, 127], which is what the Q8_0 quantizer writes
 * (ggml's too); only a -128 × -128 pair twice in a row could overflow the int16 pair sum.
 */
public final class Q80IntDot implements QuantizedDotKernel {
    public static final Q80IntDot INSTANCE = new Q80IntDot();

    private Q80IntDot() {
    }

    @Override
    public GgmlType type() {
        return GgmlType.Q8_0;
    }

    @Override
    public GgmlType activationType() {
        return GgmlType.Q8_0;
    }

    @Override
    public float dot(MemorySegment w, long offset, MemorySegment xq, long xqOffset, int n) {
        return dotRow(w, offset, xq, xqOffset, n);
    }

    /** Rows one by one through the statically bound dotRow, whatever the profile of the interface default. */
    @Override
    public void matVec(MemorySegment w, long offset, long rowStride, MemorySegment xq, int n,
                       float[] y, int rowStart, int rowEnd) {
        for (int r = rowStart; r < rowEnd; r++) {
            y[r] = dotRow(w, offset + r * rowStride, xq, 0, n);
        }
    }

    /**
     * One block per step, written out in one method (see Q80Dot). int8 × int8 products fit int16 (|q_x| <= 127
     * as our quantizer writes them, so even a -128 weight gives |p| <= 16256 and a pair sum <= 32512), summed
     * pairwise into ints.
     */
    private static float dotRow(MemorySegment w, long offset, MemorySegment xq, long xqOffset, int n) {
        Block32Simd.checkBlocks(n, QK);
        int nb = n / QK;
        FloatVector acc = FloatVector.zero(F);
        for (int b = 0; b < nb; b++) {
            long blk = offset + (long) b * BYTES;
            long ab = xqOffset + (long) b * BYTES;
            IntVector s = pairSum(bytesToShorts(w, blk + QS).mul(bytesToShorts(xq, ab + QS)));
            for (int j = 2 * L; j < QK; j += 2 * L) {
                s = s.add(pairSum(bytesToShorts(w, blk + QS + j).mul(bytesToShorts(xq, ab + QS + j))));
            }
            float d = f16(w, blk) * f16(xq, ab);
            acc = ((FloatVector) s.convertShape(VectorOperators.I2F, F, 0)).fma(FloatVector.broadcast(F, d), acc);
        }
        return acc.reduceLanes(VectorOperators.ADD);
    }
}
