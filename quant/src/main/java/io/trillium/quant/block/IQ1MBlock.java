package io.trillium.quant.block;

import java.lang.foreign.MemorySegment;

import static io.trillium.quant.block.IQGrids.*;

/**
 * IQ1_M: 256 elements, 56 bytes: {@code u8 qs[32]; u8 qh[16]; u16 scales[4]}. Each 8 elements an 11-bit
 * index into {@link IQGrids#IQ1S} (8 bits in qs, 3 in a qh nibble whose bit 3 is the sign of δ = ±0.125);
 * per 16 elements a 3-bit scale s; the block's f16 scale d is spread over the top nibbles of the four
 * scale words: y = d · (2s + 1) · (grid + δ).
 */
public final class IQ1MBlock {
    private IQ1MBlock() {
    }

    public static final int BLOCK_SIZE = 256;
    public static final int BLOCK_BYTES = 56;

    public static void dequantize(MemorySegment src, long offset, float[] dst, int dstOffset, int n) {
        blocks(src, offset, dst, dstOffset, n, BLOCK_BYTES, IQ1MBlock::block);
    }

    private static void block(MemorySegment src, long o, float[] dst, int y) {
        int bits = (u16(src, o + 48) >> 12) | ((u16(src, o + 50) >> 8) & 0x00F0) | ((u16(src, o + 52) >> 4) & 0x0F00)
                | (u16(src, o + 54) & 0xF000);
        float d = Float.float16ToFloat((short) bits);
        for (int ib = 0; ib < 8; ib++) {
            int s = u16(src, o + 48 + 2 * (ib / 2)) >> (6 * (ib % 2));
            float dl1 = d * (2 * (s & 7) + 1);
            float dl2 = d * (2 * ((s >> 3) & 7) + 1);
            for (int l = 0; l < 4; l++, y += 8) {
                int qh = u8(src, o + 32 + 2 * ib + l / 2) >> (4 * (l % 2));   // this group's nibble
                int g = (u8(src, o + 4 * ib + l) | ((qh & 7) << 8)) * 8;
                float delta = (qh & 8) != 0 ? -IQ1SBlock.DELTA : IQ1SBlock.DELTA;
                float dl = l < 2 ? dl1 : dl2;
                for (int j = 0; j < 8; j++) {
                    dst[y + j] = dl * (IQ1S[g + j] + delta);
                }
            }
        }
    }
}
