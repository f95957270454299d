package io.trillium.quant.block;

import java.lang.foreign.MemorySegment;

import static io.trillium.quant.block.IQGrids.*;

/**
 * IQ1_S: 256 elements, 50 bytes: {@code f16 d; u8 qs[32]; u16 qh[8]}. Each 8 elements an 11-bit index into
 * {@link IQGrids#IQ1S} (values -1, 0, 1; 8 bits in qs, 3 in qh); per 32 elements qh also holds a 3-bit scale
 * s (bits 12..14) and the sign of a shift δ = ±0.125 (bit 15): y = d · (2s + 1) · (grid + δ).
 */
public final class IQ1SBlock {
    private IQ1SBlock() {
    }

    public static final int BLOCK_SIZE = 256;
    public static final int BLOCK_BYTES = 50;
    /** IQ1S_DELTA (ggml-common.h), also IQ1_M's. */
    static final float DELTA = 0.125f;

    public static void dequantize(MemorySegment src, long offset, float[] dst, int dstOffset, int n) {
        blocks(src, offset, dst, dstOffset, n, BLOCK_BYTES, IQ1SBlock::block);
    }

    private static void block(MemorySegment src, long o, float[] dst, int y) {
        float d = f16(src, o);
        for (int ib = 0; ib < 8; ib++) {
            int qh = u16(src, o + 34 + 2 * ib);
            float dl = d * (2 * ((qh >> 12) & 7) + 1);
            float delta = (qh & 0x8000) != 0 ? -DELTA : DELTA;
            for (int l = 0; l < 4; l++, y += 8) {
                int g = (u8(src, o + 2 + 4 * ib + l) | (((qh >> (3 * l)) & 7) << 8)) * 8;
                for (int j = 0; j < 8; j++) {
                    dst[y + j] = dl * (IQ1S[g + j] + delta);
                }
            }
        }
    }
}
