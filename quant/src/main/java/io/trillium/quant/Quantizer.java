package io.trillium.quant;

import java.lang.foreign.MemorySegment;

/** Encodes float32 values into the blocks of one ggml type, laid out exactly as ggml stores them. */
@FunctionalInterface
public interface Quantizer {
    /**
     * Encodes {@code src[srcOffset .. srcOffset + n)} ({@code n} a multiple of the block size)
     * into {@code type.bytesFor(n)} bytes at {@code dst[dstOffset]}.
     */
    void quantize(float[] src, int srcOffset, MemorySegment dst, long dstOffset, int n);
}
