package io.trillium.quant;

import java.lang.foreign.MemorySegment;

/**
 * Scalar reference dequantization of one ggml type: the specification in code,
 * written for clarity, matching ggml's {@code dequantize_row_*} bit for bit.
 */
@FunctionalInterface
public interface Dequantizer {
    /**
     * Decodes {@code n} elements (a multiple of the block size) whose blocks start at
     * {@code src[offset]} into {@code dst[dstOffset .. dstOffset + n)}.
     */
    void dequantize(MemorySegment src, long offset, float[] dst, int dstOffset, int n);
}
