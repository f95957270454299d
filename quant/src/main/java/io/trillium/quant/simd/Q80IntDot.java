package io.trillium.quant.simd;

import io.trillium.quant.GgmlType;
import io.trillium.quant.QuantizedDotKernel;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;

import static io.trillium.quant.block.Q80Block.BYTES;
import static io.trillium.quant.block.Q80Block.QK;
import static io.trillium.quant.block.Q80Block.QS;
import static io.trillium.quant.simd.Block32Simd.*;

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
            IntVector s = IntVector.zero(I);
            for (int j = 0; j < QK; j += 2 * L) {
                // 2L bytes of each side widened to shorts, multiplied, adjacent pairs summed into ints
                // (Block32Simd.pairSum, written out: a helper taking vectors boxes them wherever C2 leaves it
                // out of line)
                ShortVector wq = (ShortVector) ByteVector.fromMemorySegment(B2, w, blk + QS + j, LE)
                        .convertShape(VectorOperators.B2S, SF, 0);
                ShortVector xs = (ShortVector) ByteVector.fromMemorySegment(B2, xq, ab + QS + j, LE)
                        .convertShape(VectorOperators.B2S, SF, 0);
                IntVector v = wq.mul(xs).reinterpretAsInts();
                s = s.add(v.add(v.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16));
            }
            float d = f16(w, blk) * f16(xq, ab);
            acc = ((FloatVector) s.convertShape(VectorOperators.I2F, F, 0)).fma(FloatVector.broadcast(F, d), acc);
        }
        return acc.reduceLanes(VectorOperators.ADD);
    }
}
