package io.trillium.quant;

import java.lang.foreign.MemorySegment;

/**
 * Fused dequantize-and-dot of weight rows stored as ggml blocks with a float32 vector.
 * The result equals "dequantize the row, then dot in float" up to float rounding.
 * Implementations are stateless and safe to share between threads.
 */
public interface DotKernel {
    /** The weight type this kernel reads. */
    GgmlType type();

    /**
     * Dot product of the {@code n} elements of one row, whose blocks start at {@code w[offset]},
     * with {@code x[xOffset .. xOffset + n)}.
     */
    float dot(MemorySegment w, long offset, float[] x, int xOffset, int n);

    /**
     * Mat-vec over a row range: {@code y[r] = row(r) · x[0 .. n)} for {@code r} in
     * {@code [rowStart, rowEnd)}, where row {@code r} starts at {@code offset + r * rowStride}.
     * Row indices are absolute, so threads sharing {@code y} can split one matrix by rows.
     */
    default void matVec(MemorySegment w, long offset, long rowStride, float[] x, int n,
                        float[] y, int rowStart, int rowEnd) {
        for (int r = rowStart; r < rowEnd; r++) {
            y[r] = dot(w, offset + r * rowStride, x, 0, n);
        }
    }
}
