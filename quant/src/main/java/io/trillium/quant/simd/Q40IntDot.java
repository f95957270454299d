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

    private static float dotRow(MemorySegment w, long offset, MemorySegment xq, long xqOffset, int n) {
        Block32Simd.checkBlocks(n, QK);
        int nb = n / QK;
        FloatVector acc = FloatVector.zero(F);
        for (int b = 0; b < nb; b++) {
            long blk = offset + (long) b * BYTES;
            long ab = xqOffset + (long) b * A_BYTES;
            ByteVector qs = ByteVector.fromMemorySegment(B16, w, blk + QS, LE);
            ByteVector lo = qs.and((byte) 0x0F).sub((byte) 8);
            ByteVector hi = qs.reinterpretAsInts().lanewise(VectorOperators.LSHR, 4).reinterpretAsBytes()
                    .and((byte) 0x0F).sub((byte) 8);
            // weight elements [0, 16) are the low nibbles, [16, 32) the high ones
            IntVector s = ((IntVector) lo.convertShape(VectorOperators.B2I, I, 0))
                    .mul((IntVector) ByteVector.fromMemorySegment(B, xq, ab + A_QS, LE)
                            .convertShape(VectorOperators.B2I, I, 0))
                    .add(((IntVector) hi.convertShape(VectorOperators.B2I, I, 0))
                            .mul((IntVector) ByteVector.fromMemorySegment(B, xq, ab + A_QS + 16, LE)
                                    .convertShape(VectorOperators.B2I, I, 0)));
            if (L == 8) { // AVX2: a second vector per half; the part index must be a constant
                s = s.add(((IntVector) lo.convertShape(VectorOperators.B2I, I, 1))
                        .mul((IntVector) ByteVector.fromMemorySegment(B, xq, ab + A_QS + 8, LE)
                                .convertShape(VectorOperators.B2I, I, 0)));
                s = s.add(((IntVector) hi.convertShape(VectorOperators.B2I, I, 1))
                        .mul((IntVector) ByteVector.fromMemorySegment(B, xq, ab + A_QS + 24, LE)
                                .convertShape(VectorOperators.B2I, I, 0)));
            }
            float d = Float.float16ToFloat(w.get(LE_SHORT, blk + D)) * Float.float16ToFloat(xq.get(LE_SHORT, ab));
            acc = ((FloatVector) s.convertShape(VectorOperators.I2F, F, 0)).fma(FloatVector.broadcast(F, d), acc);
        }
        return acc.reduceLanes(VectorOperators.ADD);
    }
}
