package io.trillium.quant.block;

import java.lang.foreign.MemorySegment;

import static io.trillium.quant.block.IQGrids.*;

/**
 * IQ3_XXS: 256 elements, 98 bytes: {@code f16 d; u8 qs[64]; u32 scalesAndSigns[8]}. Each 4 elements an 8-bit
 * index into {@link IQGrids#IQ3XXS}; per 32 elements one word of four 7-bit sign groups (bits 0..27, one per
 * 8 elements) and a 4-bit scale (bits 28..31): y = d · (0.5 + s) · 0.5 · grid · sign.
 */
public final class IQ3XXSBlock {
    private IQ3XXSBlock() {
    }

    public static final int BLOCK_SIZE = 256;
    public static final int BLOCK_BYTES = 98;

    public static void dequantize(MemorySegment src, long offset, float[] dst, int dstOffset, int n) {
        blocks(src, offset, dst, dstOffset, n, BLOCK_BYTES, IQ3XXSBlock::block);
    }

    private static void block(MemorySegment src, long o, float[] dst, int y) {
        float d = f16(src, o);
        for (int ib = 0; ib < 8; ib++) {
            int aux = src.get(LE_INT, o + 66 + 4 * ib);
            float db = d * (0.5f + (aux >>> 28)) * 0.5f;
            for (int l = 0; l < 4; l++, y += 8) {
                int signs = SIGNS[(aux >>> (7 * l)) & 127];
                int g1 = u8(src, o + 2 + 8 * ib + 2 * l) * 4;
                int g2 = u8(src, o + 2 + 8 * ib + 2 * l + 1) * 4;
                for (int j = 0; j < 4; j++) {
                    dst[y + j] = signed(db * IQ3XXS[g1 + j], signs, j);
                    dst[y + j + 4] = signed(db * IQ3XXS[g2 + j], signs, j + 4);
                }
            }
        }
    }
}
