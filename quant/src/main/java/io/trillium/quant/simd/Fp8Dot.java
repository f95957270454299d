package io.trillium.quant.simd;

import io.trillium.quant.DotKernel;
import io.trillium.quant.GgmlType;
import io.trillium.quant.block.Fp8Block;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;

import static io.trillium.quant.simd.Block32Simd.B;
import static io.trillium.quant.simd.Block32Simd.F;
import static io.trillium.quant.simd.Block32Simd.I;
import static io.trillium.quant.simd.Block32Simd.L;
import static io.trillium.quant.simd.Block32Simd.LE;
import static io.trillium.quant.simd.Block32Simd.LE_FLOAT;

/**
 * FP8 e4m3fn rows of a {@code cols}-column matrix, bound to its F32 128×128 block scales. Decoding is
 * bit placement: the 7 magnitude bits moved to bits 20..26 and the sign to bit 31 make an IEEE float
 * worth 2^-120 times the e4m3 value (normals and subnormals alike), so the 2^120 goes into the block
 * scale. The NaN code decodes to 480 here (the reference gives NaN); weights never hold it.
 */
public final class Fp8Dot implements DotKernel {
    private static final float UNBIAS = 0x1p120f;
    private final MemorySegment scales;
    private final long cols;
    private final long blocksPerRow;

    public Fp8Dot(MemorySegment scales, long cols) {
        this.scales = scales;
        this.cols = cols;
        this.blocksPerRow = Fp8Block.blocksPerRow(cols);
    }

    @Override
    public GgmlType type() {
        return GgmlType.F8_E4M3_B128;
    }

    @Override
    public float dot(MemorySegment w, long offset, float[] x, int xOffset, int n) {
        return dotRow(w, scales, cols, blocksPerRow, offset, x, xOffset, n);
    }

    @Override
    public void matVec(MemorySegment w, long offset, long rowStride, float[] x, int n,
                       float[] y, int rowStart, int rowEnd) {
        for (int r = rowStart; r < rowEnd; r++) {
            y[r] = dotRow(w, scales, cols, blocksPerRow, offset + r * rowStride, x, 0, n);
        }
    }

    private static float dotRow(MemorySegment w, MemorySegment scales, long cols, long bpr, long offset,
                                float[] x, int xOffset, int n) {
        long row = offset / cols;
        long col = offset % cols;
        if (col + n > cols) {
            throw new IllegalArgumentException("FP8: " + n + " values from column " + col + " cross the row end " + cols);
        }
        long sRow = row / Fp8Block.BLOCK * bpr;
        float sum = 0f;
        int i = 0;
        while (i < n) {
            long c = col + i;
            int end = (int) Math.min(n, i + (Fp8Block.BLOCK - c % Fp8Block.BLOCK));  // this scale block's run
            float s = scales.get(LE_FLOAT, (sRow + c / Fp8Block.BLOCK) * 4) * UNBIAS;
            FloatVector acc = FloatVector.zero(F);
            int j = i;
            for (; j + L <= end; j += L) {
                IntVector v = (IntVector) ByteVector.fromMemorySegment(B, w, offset + j, LE)
                        .convertShape(VectorOperators.B2I, I, 0);
                FloatVector f = v.and(0x7F).lanewise(VectorOperators.LSHL, 20)
                        .or(v.and(0x80).lanewise(VectorOperators.LSHL, 24)).reinterpretAsFloats();
                acc = f.fma(FloatVector.fromArray(F, x, xOffset + j), acc);
            }
            float part = acc.reduceLanes(VectorOperators.ADD);
            for (; j < end; j++) {
                int b = w.get(java.lang.foreign.ValueLayout.JAVA_BYTE, offset + j);
                part += Float.intBitsToFloat(((b & 0x7F) << 20) | ((b & 0x80) << 24)) * x[xOffset + j];
            }
            sum += part * s;
            i = end;
        }
        return sum;
    }
}
