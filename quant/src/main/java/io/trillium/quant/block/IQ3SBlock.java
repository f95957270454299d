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

    /** Grid levels: every grid value is odd, 1..15; level k stands for 2k + 1. */
    private static final int LEVELS = 8;
    /** For each 4-tuple of levels (base 8, first element lowest), the nearest of the 512 grid points. */
    private static final short[] NEAREST = nearestGridPoints();

    private static short[] nearestGridPoints() {
        short[] best = new short[LEVELS * LEVELS * LEVELS * LEVELS];
        for (int cell = 0; cell < best.length; cell++) {
            int bestErr = Integer.MAX_VALUE;
            for (int g = 0; g < 512; g++) {
                int err = 0;
                for (int j = 0, c = cell; j < 4; j++, c /= LEVELS) {
                    int diff = IQ3S[4 * g + j] - (2 * (c % LEVELS) + 1);
                    err += diff * diff;
                }
                if (err < bestErr) {
                    bestErr = err;
                    best[cell] = (short) g;
                }
            }
        }
        return best;
    }

    /**
     * Encodes {@code n} values (whole blocks), round-to-nearest against the grid (not importance-weighted, as
     * llama-quantize's search with an importance matrix is): per 32 values a scale {@code max|x| / 15}, the
     * block's {@code d} the largest of them over 31 and each 4-bit scale {@code s} the nearest with
     * {@code d · (1 + 2s)} to it; the signs explicit; each 4 magnitudes over that scale rounded to the grid's
     * levels 1, 3, .., 15 and replaced by the grid point nearest to those levels (a table of all 4096).
     */
    public static void quantize(float[] src, int srcOffset, MemorySegment dst, long dstOffset, int n) {
        float[] want = new float[8];
        for (int b = 0; b < n / BLOCK_SIZE; b++) {
            int x = srcOffset + b * BLOCK_SIZE;
            long o = dstOffset + (long) b * BLOCK_BYTES;
            float dmax = 0f;
            for (int ib = 0; ib < 8; ib++) {
                want[ib] = absMax(src, x + 32 * ib, 32) / 15f;
                dmax = Math.max(dmax, want[ib]);
            }
            float d = Float.float16ToFloat(Float.floatToFloat16(dmax / 31f));
            dst.asSlice(o, BLOCK_BYTES).fill((byte) 0);
            dst.set(F16Block.LE_SHORT, o, Float.floatToFloat16(d));
            if (d == 0f) {
                continue;
            }
            for (int ib = 0; ib < 8; ib++) {
                int sc = Math.max(0, Math.min(15, Math.round((want[ib] / d - 1f) / 2f)));
                long scAt = o + 106 + ib / 2;
                putU8(dst, scAt, u8(dst, scAt) | (ib % 2 == 0 ? sc : sc << 4));
                float id = 1f / (d * (1 + 2 * sc));
                int qh = 0;
                for (int l = 0; l < 4; l++) {
                    int e = x + 32 * ib + 8 * l;
                    int signs = 0;
                    for (int j = 0; j < 8; j++) {
                        if (src[e + j] < 0) {
                            signs |= 1 << j;
                        }
                    }
                    putU8(dst, o + 74 + 4 * ib + l, signs);
                    for (int half = 0; half < 2; half++) {
                        int cell = 0;
                        for (int j = 3; j >= 0; j--) {
                            int level = Math.round((Math.abs(src[e + 4 * half + j]) * id - 1f) / 2f);
                            cell = cell * LEVELS + Math.max(0, Math.min(LEVELS - 1, level));
                        }
                        int g = NEAREST[cell];
                        putU8(dst, o + 2 + 8 * ib + 2 * l + half, g & 0xFF);
                        qh |= (g >> 8) << (2 * l + half);
                    }
                }
                putU8(dst, o + 66 + ib, qh);
            }
        }
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
