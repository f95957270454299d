package io.trillium.quant.block;

import java.lang.foreign.MemorySegment;

import static io.trillium.quant.block.IQGrids.*;

/**
 * IQ2_XXS: 256 elements, 66 bytes: {@code f16 d; u32 pairs[8][2]}. Per 32 elements two words: the first
 * holds four 8-bit indices into {@link IQGrids#IQ2XXS} (8 magnitudes each), the second four 7-bit sign
 * groups (bits 0..27) and a 4-bit scale s (bits 28..31): y = d · (0.5 + s) · 0.25 · grid · sign.
 */
public final class IQ2XXSBlock {
    private IQ2XXSBlock() {
    }

    public static final int BLOCK_SIZE = 256;
    public static final int BLOCK_BYTES = 66;

    public static void dequantize(MemorySegment src, long offset, float[] dst, int dstOffset, int n) {
        blocks(src, offset, dst, dstOffset, n, BLOCK_BYTES, IQ2XXSBlock::block);
    }

    private static void block(MemorySegment src, long o, float[] dst, int y) {
        float d = f16(src, o);
        for (int ib = 0; ib < 8; ib++) {
            int idx = src.get(LE_INT, o + 2 + 8 * ib);
            int aux = src.get(LE_INT, o + 6 + 8 * ib);
            float db = d * (0.5f + (aux >>> 28)) * 0.25f;
            for (int l = 0; l < 4; l++, y += 8) {
                int g = ((idx >>> (8 * l)) & 0xFF) * 8;
                int signs = SIGNS[(aux >>> (7 * l)) & 127];
                for (int j = 0; j < 8; j++) {
                    dst[y + j] = signed(db * IQ2XXS[g + j], signs, j);
                }
            }
        }
    }
}
