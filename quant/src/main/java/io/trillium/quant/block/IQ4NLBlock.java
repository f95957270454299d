package io.trillium.quant.block;

import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;

/**
 * IQ4_NL (block_iq4_nl): fp16 d, 16 bytes qs, nibble halves as Q4_0, but each nibble indexes the
 * non-linear grid {@link #KVALUES}; y = d * KVALUES[nibble].
 */
public final class IQ4NLBlock {
    public static final int QK = 32;
    public static final int BYTES = 18;
    public static final int D = 0;
    public static final int QS = 2;

    /** kvalues_iq4nl from ggml-common.h. */
    public static final byte[] KVALUES = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};

    private IQ4NLBlock() {
    }

    public static void dequantize(MemorySegment src, long offset, float[] dst, int dstOffset, int n) {
        for (int b = 0; b < n / QK; b++) {
            long blk = offset + (long) b * BYTES;
            float d = F16Block.f16(src, blk + D);
            int o = dstOffset + b * QK;
            for (int j = 0; j < QK / 2; j++) {
                int q = src.get(JAVA_BYTE, blk + QS + j) & 0xFF;
                dst[o + j] = d * KVALUES[q & 0x0F];
                dst[o + j + QK / 2] = d * KVALUES[q >> 4];
            }
        }
    }
}
