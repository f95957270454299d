package io.trillium.quant.block;

import java.lang.foreign.MemorySegment;

import static io.trillium.quant.block.IQGrids.*;

/**
 * IQ2_S: 256 elements, 82 bytes: {@code f16 d; u8 qs[32]; u8 signs[32]; u8 qh[8]; u8 scales[8]}. Each 8
 * elements: a 10-bit index into {@link IQGrids#IQ2S} (8 bits in qs, 2 in qh) and 8 explicit signs; each 32
 * elements two 4-bit scales (low nibble for the first 16): y = d · (0.5 + s) · 0.25 · grid · sign.
 */
public final class IQ2SBlock {
    private IQ2SBlock() {
    }

    public static final int BLOCK_SIZE = 256;
    public static final int BLOCK_BYTES = 82;

    public static void dequantize(MemorySegment src, long offset, float[] dst, int dstOffset, int n) {
        blocks(src, offset, dst, dstOffset, n, BLOCK_BYTES, IQ2SBlock::block);
    }

    private static void block(MemorySegment src, long o, float[] dst, int y) {
        float d = f16(src, o);
        for (int ib = 0; ib < 8; ib++) {
            int sc = u8(src, o + 74 + ib);
            float db0 = d * (0.5f + (sc & 0xF)) * 0.25f;
            float db1 = d * (0.5f + (sc >> 4)) * 0.25f;
            int qh = u8(src, o + 66 + ib);
            for (int l = 0; l < 4; l++, y += 8) {
                int g = (u8(src, o + 2 + 4 * ib + l) | ((qh << (8 - 2 * l)) & 0x300)) * 8;
                int signs = u8(src, o + 34 + 4 * ib + l);
                float db = l < 2 ? db0 : db1;
                for (int j = 0; j < 8; j++) {
                    dst[y + j] = signed(db * IQ2S[g + j], signs, j);
                }
            }
        }
    }
}
