package io.trillium.quant.simd;

import io.trillium.quant.GgmlType;
import io.trillium.quant.QuantizedDotKernel;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;

import static io.trillium.quant.block.Q40Block.BYTES;
import static io.trillium.quant.block.Q40Block.D;
import static io.trillium.quant.block.Q40Block.QK;
import static io.trillium.quant.block.Q40Block.QS;
import static io.trillium.quant.simd.Block32Simd.B16;
import static io.trillium.quant.simd.Block32Simd.F;
import static io.trillium.quant.simd.Block32Simd.I;
import static io.trillium.quant.simd.Block32Simd.L;
import static io.trillium.quant.simd.Block32Simd.LE;
import static io.trillium.quant.simd.Block32Simd.B;
import static io.trillium.quant.simd.Block32Simd.LE_SHORT;
import static io.trillium.quant.simd.Block32Simd.highNibbles;

/**
 * Q4_0 weights × Q8_0 activations (ggml_vec_dot_q4_0_q8_0): nibbles re-centred to [-8, 7],
 * products with the int8 activations summed exactly in int lanes, scaled once per block.
 */
public final class Q40IntDot implements QuantizedDotKernel {
    public static final Q40IntDot INSTANCE = new Q40IntDot();

    /** Q8_0 activation block geometry. */
    private static final int A_BYTES = 34;
    private static final int A_QS = 2;

    private Q40IntDot() {
    }

    @Override
    public GgmlType type() {
        return GgmlType.Q4_0;
    }

    @Override
    public GgmlType activationType() {
        return GgmlType.Q8_0;
    }

    @Override
    public float dot(MemorySegment w, long offset, MemorySegment xq, long xqOffset, int n) {
        Block32Simd.checkBlocks(n, QK);
        int nb = n / QK;
        FloatVector acc0 = FloatVector.zero(F);
        FloatVector acc1 = FloatVector.zero(F);
        int b = 0;
        for (; b + 1 < nb; b += 2) {
            long blk = offset + (long) b * BYTES;
            long ab = xqOffset + (long) b * A_BYTES;
            acc0 = block(w, blk, xq, ab, acc0);
            acc1 = block(w, blk + BYTES, xq, ab + A_BYTES, acc1);
        }
        if (b < nb) {
            acc0 = block(w, offset + (long) b * BYTES, xq, xqOffset + (long) b * A_BYTES, acc0);
        }
        return acc0.add(acc1).reduceLanes(VectorOperators.ADD);
    }

    /** Rows one by one, with the block loop here rather than behind dot(): keeps C2's inlining depth low. */
    @Override
    public void matVec(MemorySegment w, long offset, long rowStride, MemorySegment xq, int n,
                       float[] y, int rowStart, int rowEnd) {
        Block32Simd.checkBlocks(n, QK);
        int nb = n / QK;
        for (int r = rowStart; r < rowEnd; r++) {
            long row = offset + r * rowStride;
            FloatVector acc0 = FloatVector.zero(F);
            FloatVector acc1 = FloatVector.zero(F);
            int b = 0;
            for (; b + 1 < nb; b += 2) {
                acc0 = block(w, row + (long) b * BYTES, xq, (long) b * A_BYTES, acc0);
                acc1 = block(w, row + (long) (b + 1) * BYTES, xq, (long) (b + 1) * A_BYTES, acc1);
            }
            if (b < nb) {
                acc0 = block(w, row + (long) b * BYTES, xq, (long) b * A_BYTES, acc0);
            }
            y[r] = acc0.add(acc1).reduceLanes(VectorOperators.ADD);
        }
    }

    private static FloatVector block(MemorySegment w, long blk, MemorySegment xq, long ab, FloatVector acc) {
        ByteVector qs = ByteVector.fromMemorySegment(B16, w, blk + QS, LE);
        ByteVector lo = qs.and((byte) 0x0F).sub((byte) 8);
        ByteVector hi = highNibbles(qs).sub((byte) 8);
        IntVector s = (L == 16) ? part(lo, hi, xq, ab, 0) : part(lo, hi, xq, ab, 0).add(part(lo, hi, xq, ab, 1));
        float d = Float.float16ToFloat(w.get(LE_SHORT, blk + D)) * Float.float16ToFloat(xq.get(LE_SHORT, ab));
        return ((FloatVector) s.convertShape(VectorOperators.I2F, F, 0)).fma(FloatVector.broadcast(F, d), acc);
    }

    /** Part {@code p} (of 16 / L) of both nibble halves times the matching activations, in int lanes. */
    private static IntVector part(ByteVector lo, ByteVector hi, MemorySegment xq, long ab, int p) {
        IntVector wl = (IntVector) lo.convertShape(VectorOperators.B2I, I, p);
        IntVector wh = (IntVector) hi.convertShape(VectorOperators.B2I, I, p);
        IntVector al = (IntVector) ByteVector.fromMemorySegment(B, xq, ab + A_QS + p * L, LE)
                .convertShape(VectorOperators.B2I, I, 0);
        IntVector ah = (IntVector) ByteVector.fromMemorySegment(B, xq, ab + A_QS + 16 + p * L, LE)
                .convertShape(VectorOperators.B2I, I, 0);
        return wl.mul(al).add(wh.mul(ah));
    }
}
