package io.trillium.quant.block;

import java.lang.foreign.MemorySegment;

import static io.trillium.quant.block.IQGrids.*;

/**
 * IQ2_XS: 256 elements, 74 bytes: {@code f16 d; u16 qs[32]; u8 scales[8]}. Each u16 covers 8 elements:
 * a 9-bit index into {@link IQGrids#IQ2XS} and a 7-bit sign group; each 32 elements have two 4-bit scales
 * (low nibble for the first 16): y = d · (0.5 + s) · 0.25 · grid · sign.
 */
public final class IQ2XSBlock {
    private IQ2XSBlock() {
    }

    public static final int BLOCK_SIZE = 256;
    public static final int BLOCK_BYTES = 74;

    public static void dequantize(MemorySegment src, long offset, float[] dst, int dstOffset, int n) {
        blocks(src, offset, dst, dstOffset, n, BLOCK_BYTES, IQ2XSBlock::block);
    }

    private static void block(MemorySegment src, long o, float[] dst, int y) {
        float d = f16(src, o);
        for (int ib = 0; ib < 8; ib++) {
            int sc = u8(src, o + 66 + ib);
            float db0 = d * (0.5f + (sc & 0xF)) * 0.25f;
            float db1 = d * (0.5f + (sc >> 4)) * 0.25f;
            for (int l = 0; l < 4; l++, y += 8) {
                int q = u16(src, o + 2 + 2 * (4 * ib + l));
                int g = (q & 511) * 8;
                int signs = SIGNS[q >> 9];
                float db = l < 2 ? db0 : db1;
                for (int j = 0; j < 8; j++) {
                    dst[y + j] = signed(db * IQ2XS[g + j], signs, j);
                }
            }
        }
    }
}
