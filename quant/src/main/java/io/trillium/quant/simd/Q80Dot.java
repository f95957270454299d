package io.trillium.quant.simd;

import io.trillium.quant.DotKernel;
import io.trillium.quant.GgmlType;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;

import static io.trillium.quant.block.Q80Block.BYTES;
import static io.trillium.quant.block.Q80Block.QK;
import static io.trillium.quant.block.Q80Block.QS;
import static io.trillium.quant.simd.Block32Simd.F;
import static io.trillium.quant.simd.Block32Simd.L;
import static io.trillium.quant.simd.Block32Simd.bytesToFloats;
import static io.trillium.quant.simd.Block32Simd.f16;

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
        Block32Simd.checkBlocks(n, QK);
        int nb = n / QK;
        FloatVector acc0 = FloatVector.zero(F);
        FloatVector acc1 = FloatVector.zero(F);
        int b = 0;
        // two blocks per iteration: two independent accumulator chains
        for (; b + 1 < nb; b += 2) {
            long blk = offset + (long) b * BYTES;
            int xi = xOffset + b * QK;
            acc0 = block(w, blk, x, xi).fma(FloatVector.broadcast(F, f16(w, blk)), acc0);
            acc1 = block(w, blk + BYTES, x, xi + QK).fma(FloatVector.broadcast(F, f16(w, blk + BYTES)), acc1);
        }
        if (b < nb) {
            long blk = offset + (long) b * BYTES;
            acc0 = block(w, blk, x, xOffset + b * QK).fma(FloatVector.broadcast(F, f16(w, blk)), acc0);
        }
        return acc0.add(acc1).reduceLanes(VectorOperators.ADD);
    }

    /** Four rows at a time: each x vector load serves four weight rows. */
    @Override
    public void matVec(MemorySegment w, long offset, long rowStride, float[] x, int n,
                       float[] y, int rowStart, int rowEnd) {
        Block32Simd.checkBlocks(n, QK);
        int nb = n / QK;
        int r = rowStart;
        for (; r + 3 < rowEnd; r += 4) {
            long r0 = offset + r * rowStride;
            long r1 = r0 + rowStride;
            long r2 = r1 + rowStride;
            long r3 = r2 + rowStride;
            FloatVector acc0 = FloatVector.zero(F);
            FloatVector acc1 = FloatVector.zero(F);
            FloatVector acc2 = FloatVector.zero(F);
            FloatVector acc3 = FloatVector.zero(F);
            for (int b = 0; b < nb; b++) {
                long o = (long) b * BYTES;
                int xi = b * QK;
                FloatVector x0 = FloatVector.fromArray(F, x, xi);
                FloatVector s0 = bytesToFloats(w, r0 + o + QS).mul(x0);
                FloatVector s1 = bytesToFloats(w, r1 + o + QS).mul(x0);
                FloatVector s2 = bytesToFloats(w, r2 + o + QS).mul(x0);
                FloatVector s3 = bytesToFloats(w, r3 + o + QS).mul(x0);
                for (int j = L; j < QK; j += L) {
                    FloatVector xj = FloatVector.fromArray(F, x, xi + j);
                    s0 = bytesToFloats(w, r0 + o + QS + j).fma(xj, s0);
                    s1 = bytesToFloats(w, r1 + o + QS + j).fma(xj, s1);
                    s2 = bytesToFloats(w, r2 + o + QS + j).fma(xj, s2);
                    s3 = bytesToFloats(w, r3 + o + QS + j).fma(xj, s3);
                }
                acc0 = s0.fma(FloatVector.broadcast(F, f16(w, r0 + o)), acc0);
                acc1 = s1.fma(FloatVector.broadcast(F, f16(w, r1 + o)), acc1);
                acc2 = s2.fma(FloatVector.broadcast(F, f16(w, r2 + o)), acc2);
                acc3 = s3.fma(FloatVector.broadcast(F, f16(w, r3 + o)), acc3);
            }
            y[r] = acc0.reduceLanes(VectorOperators.ADD);
            y[r + 1] = acc1.reduceLanes(VectorOperators.ADD);
            y[r + 2] = acc2.reduceLanes(VectorOperators.ADD);
            y[r + 3] = acc3.reduceLanes(VectorOperators.ADD);
        }
        for (; r < rowEnd; r++) {
            y[r] = dot(w, offset + r * rowStride, x, 0, n);
        }
    }

    /** Lane-wise sum over the block's float vectors of q * x (unscaled). */
    private static FloatVector block(MemorySegment w, long blk, float[] x, int xi) {
        FloatVector s = bytesToFloats(w, blk + QS).mul(FloatVector.fromArray(F, x, xi));
        for (int j = L; j < QK; j += L) {
            s = bytesToFloats(w, blk + QS + j).fma(FloatVector.fromArray(F, x, xi + j), s);
        }
        return s;
    }
}
