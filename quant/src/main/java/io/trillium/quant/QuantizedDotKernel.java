package io.trillium.quant;

import java.lang.foreign.MemorySegment;

/**
 * The integer route, as ggml's CPU backend computes quantized mat-muls: the activation vector is
 * first quantized to {@link #activationType()} ({@code Q8_0} for 32-blocks, {@code Q8_K} for
 * 256-blocks) with {@link Kernels#quantizer}, then each weight block is dotted with the
 * matching activation block in integers and scaled once per block.
 */
public interface QuantizedDotKernel {
    /** The weight type this kernel reads. */
    GgmlType type();

    /** The activation block type the kernel expects ({@code Q8_0} or {@code Q8_K}). */
    GgmlType activationType();

    /**
     * Dot product of one row of {@code n} elements at {@code w[offset]} with the quantized
     * activations at {@code xq[xqOffset]} (the same {@code n} elements in {@link #activationType()} blocks).
     */
    float dot(MemorySegment w, long offset, MemorySegment xq, long xqOffset, int n);

    /** Mat-vec over a row range with absolute row indices; see {@link DotKernel#matVec}. */
    default void matVec(MemorySegment w, long offset, long rowStride, MemorySegment xq, int n,
                        float[] y, int rowStart, int rowEnd) {
        for (int r = rowStart; r < rowEnd; r++) {
            y[r] = dot(w, offset + r * rowStride, xq, 0, n);
        }
    }

    /**
     * A batch: rows {@code [rowStart, rowEnd)} against {@code tokens} activation vectors, token t's at
     * {@code xq[t * xqStride]}, into {@code y[yOff + t * yStride + r]}. Each (row, token) is bit for bit what
     * {@link #dot} gives for that token alone: the batch a token is computed in never changes its result.
     */
    default void matMul(MemorySegment w, long offset, long rowStride, MemorySegment xq, long xqStride, int tokens,
                        int n, float[] y, int yOff, int yStride, int rowStart, int rowEnd) {
        for (int t = 0; t < tokens; t++) {
            for (int r = rowStart; r < rowEnd; r++) {
                y[yOff + t * yStride + r] = dot(w, offset + r * rowStride, xq, t * xqStride, n);
            }
        }
    }
}
