package io.trillium.quant.simd;

import io.trillium.quant.Dequantizer;
import io.trillium.quant.DotKernel;
import io.trillium.quant.GgmlType;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;

/**
 * The float route of a type without a fused kernel (the i-quants IQ1_S … IQ3_S and the ternary TQ1_0,
 * TQ2_0 for now): each block through the type's reference dequantizer into a per-thread buffer, then a
 * vector multiply-add against the activations. Correct and allocation-free; as fast as the dequantizer.
 */
public final class DequantDot implements DotKernel {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final ThreadLocal<float[]> BLOCK = ThreadLocal.withInitial(() -> new float[256]);

    private final GgmlType type;
    private final Dequantizer dequantizer;

    public DequantDot(GgmlType type, Dequantizer dequantizer) {
        if (type.blockSize() > 256 || 256 % F.length() != 0 || type.blockSize() % F.length() != 0) {
            throw new IllegalArgumentException(type + ": blocks of " + type.blockSize() + " elements");
        }
        this.type = type;
        this.dequantizer = dequantizer;
    }

    @Override
    public GgmlType type() {
        return type;
    }

    @Override
    public float dot(MemorySegment w, long offset, float[] x, int xOffset, int n) {
        return dotRow(w, offset, x, xOffset, n, BLOCK.get());
    }

    /** Rows one by one with this thread's buffer looked up once. */
    @Override
    public void matVec(MemorySegment w, long offset, long rowStride, float[] x, int n, float[] y, int rowStart,
                       int rowEnd) {
        float[] buf = BLOCK.get();
        for (int r = rowStart; r < rowEnd; r++) {
            y[r] = dotRow(w, offset + r * rowStride, x, 0, n, buf);
        }
    }

    private float dotRow(MemorySegment w, long offset, float[] x, int xOffset, int n, float[] buf) {
        int bs = type.blockSize();
        if (n % bs != 0) {
            throw new IllegalArgumentException(type + ": " + n + " elements is not a whole number of blocks of " + bs);
        }
        FloatVector acc = FloatVector.zero(F);
        for (int i = 0; i < n; i += bs) {
            dequantizer.dequantize(w, offset + (long) (i / bs) * type.blockBytes(), buf, 0, bs);
            for (int j = 0; j < bs; j += F.length()) {
                acc = FloatVector.fromArray(F, buf, j).fma(FloatVector.fromArray(F, x, xOffset + i + j), acc);
            }
        }
        return acc.reduceLanes(jdk.incubator.vector.VectorOperators.ADD);
    }
}
