package io.trillium.quant.simd;

import io.trillium.quant.DotKernel;
import io.trillium.quant.GgmlType;
import io.trillium.quant.block.CtInt4Block;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;

import static io.trillium.quant.simd.Block32Simd.B16;
import static io.trillium.quant.simd.Block32Simd.F;
import static io.trillium.quant.simd.Block32Simd.L;
import static io.trillium.quant.simd.Block32Simd.LE;

/**
 * compressed-tensors INT4 rows, bound to the tensor's BF16 scales. A 32-group is 16 bytes whose low
 * nibbles are the even inputs and high nibbles the odd ones, so the activation is de-interleaved
 * once per call ({@code xp[32g + j] = x[32g + 2j]}, {@code xp[32g + 16 + j] = x[32g + 2j + 1]}) and
 * each group then computes exactly like a Q4_0 block. Row offsets are in packed bytes; a group's
 * scale sits at offset / 8 of the scale segment.
 */
public final class CtInt4Dot implements DotKernel {
    private final MemorySegment scales;

    public CtInt4Dot(MemorySegment scales) {
        this.scales = scales;
    }

    @Override
    public GgmlType type() {
        return GgmlType.CT_INT4;
    }

    @Override
    public float dot(MemorySegment w, long offset, float[] x, int xOffset, int n) {
        return dotRow(w, scales, offset, deinterleave(x, xOffset, n), n);
    }

    /** De-interleaves {@code x} once, then rows one by one through the statically bound dotRow. */
    @Override
    public void matVec(MemorySegment w, long offset, long rowStride, float[] x, int n,
                       float[] y, int rowStart, int rowEnd) {
        float[] xp = deinterleave(x, 0, n);
        for (int r = rowStart; r < rowEnd; r++) {
            y[r] = dotRow(w, scales, offset + r * rowStride, xp, n);
        }
    }

    /** Per thread: the de-interleaved activation (grown, kept), so that a decode step allocates nothing. */
    private static final ThreadLocal<float[][]> SCRATCH = ThreadLocal.withInitial(() -> new float[1][0]);

    /** {@code x} de-interleaved into this thread's scratch (valid until its next call on this thread). */
    static float[] deinterleave(float[] x, int xOffset, int n) {
        Block32Simd.checkBlocks(n, CtInt4Block.GROUP);
        float[][] scratch = SCRATCH.get();
        if (scratch[0].length < n) {
            scratch[0] = new float[n];
        }
        float[] xp = scratch[0];
        for (int g = 0; g < n; g += 32) {
            for (int j = 0; j < 16; j++) {
                xp[g + j] = x[xOffset + g + 2 * j];
                xp[g + 16 + j] = x[xOffset + g + 2 * j + 1];
            }
        }
        return xp;
    }

    private static float dotRow(MemorySegment w, MemorySegment scales, long offset, float[] xp, int n) {
        int nb = n / CtInt4Block.GROUP;
        FloatVector acc = FloatVector.zero(F);
        for (int b = 0; b < nb; b++) {
            long blk = offset + (long) b * CtInt4Block.BYTES;
            int xi = b * CtInt4Block.GROUP;
            ByteVector qs = ByteVector.fromMemorySegment(B16, w, blk, LE);
            ByteVector lo = qs.and((byte) 0x0F).sub((byte) 8);
            ByteVector hi = qs.reinterpretAsInts().lanewise(VectorOperators.LSHR, 4).reinterpretAsBytes()
                    .and((byte) 0x0F).sub((byte) 8);
            FloatVector x0 = FloatVector.fromArray(F, xp, xi);
            FloatVector x1 = FloatVector.fromArray(F, xp, xi + 16);
            FloatVector s = ((FloatVector) hi.convertShape(VectorOperators.B2F, F, 0))
                    .fma(x1, ((FloatVector) lo.convertShape(VectorOperators.B2F, F, 0)).mul(x0));
            if (L == 8) { // AVX2: a second vector per half; the part index must be a constant
                FloatVector x2 = FloatVector.fromArray(F, xp, xi + 8);
                FloatVector x3 = FloatVector.fromArray(F, xp, xi + 24);
                s = ((FloatVector) lo.convertShape(VectorOperators.B2F, F, 1)).fma(x2, s);
                s = ((FloatVector) hi.convertShape(VectorOperators.B2F, F, 1)).fma(x3, s);
            }
            acc = s.fma(FloatVector.broadcast(F, CtInt4Block.bf16(scales, blk / 8)), acc);
        }
        return acc.reduceLanes(VectorOperators.ADD);
    }
}
