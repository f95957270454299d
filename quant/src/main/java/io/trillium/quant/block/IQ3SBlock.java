package io.trillium.quant.block;

import java.lang.foreign.MemorySegment;

import static io.trillium.quant.block.IQGrids.*;

/**
 * IQ3_S: 256 elements, 110 bytes: {@code f16 d; u8 qs[64]; u8 qh[8]; u8 signs[32]; u8 scales[4]}. Each 4
 * elements a 9-bit index into {@link IQGrids#IQ3S} (8 bits in qs, 1 in qh), 8 explicit signs per 8
 * elements, a 4-bit scale per 32 (low nibble for the first of each pair): y = d · (1 + 2s) · grid · sign.
 */
public final class IQ3SBlock {
    private IQ3SBlock() {
    }

    public static final int BLOCK_SIZE = 256;
    public static final int BLOCK_BYTES = 110;

    public static void dequantize(MemorySegment src, long offset, float[] dst, int dstOffset, int n) {
        blocks(src, offset, dst, dstOffset, n, BLOCK_BYTES, IQ3SBlock::block);
    }

    private static void block(MemorySegment src, long o, float[] dst, int y) {
        float d = f16(src, o);
        for (int ib = 0; ib < 8; ib++) {   // 32 elements: 8 qs bytes, one qh byte, 4 sign bytes
            int sc = u8(src, o + 106 + ib / 2);
            float db = d * (1 + 2 * (ib % 2 == 0 ? sc & 0xF : sc >> 4));
            int qh = u8(src, o + 66 + ib);
            for (int l = 0; l < 4; l++, y += 8) {
                int g1 = (u8(src, o + 2 + 8 * ib + 2 * l) | ((qh << (8 - 2 * l)) & 256)) * 4;
                int g2 = (u8(src, o + 2 + 8 * ib + 2 * l + 1) | ((qh << (7 - 2 * l)) & 256)) * 4;
                int signs = u8(src, o + 74 + 4 * ib + l);
                for (int j = 0; j < 4; j++) {
                    dst[y + j] = signed(db * IQ3S[g1 + j], signs, j);
                    dst[y + j + 4] = signed(db * IQ3S[g2 + j], signs, j + 4);
                }
            }
        }
    }
}
