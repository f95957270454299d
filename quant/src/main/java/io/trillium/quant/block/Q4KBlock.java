package io.trillium.quant.block;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Q4_K: 256 elements in 8 sub-blocks of 32, 144 bytes.
 * {@code f16 d; f16 dmin; u8 scales[12]} (8 six-bit (scale, min) pairs, see {@link #scale}/{@link #min});
 * {@code u8 qs[128]}: chunk c = qs[32c..32c+31], low nibbles are sub-block 2c, high nibbles 2c+1.
 * y = (d * sc) * q - (dmin * m).
 */
public final class Q4KBlock {
    private Q4KBlock() {
    }

    public static final int BLOCK_SIZE = 256;
    public static final int BLOCK_BYTES = 144;
    public static final int D = 0;
    public static final int DMIN = 2;
    public static final int SCALES = 4;
    public static final int QS = 16;

    /** 6-bit scale of sub-block j (ggml get_scale_min_k4); {@code sc} points at the 12 scale bytes. */
    public static int scale(MemorySegment s, long sc, int j) {
        return j < 4 ? u8(s, sc + j) & 63 : (u8(s, sc + j + 4) & 0xF) | ((u8(s, sc + j - 4) >> 6) << 4);
    }

    /** 6-bit min of sub-block j. */
    public static int min(MemorySegment s, long sc, int j) {
        return j < 4 ? u8(s, sc + j + 4) & 63 : (u8(s, sc + j + 4) >> 4) | ((u8(s, sc + j) >> 6) << 4);
    }

    public static void dequantize(MemorySegment src, long offset, float[] dst, int dstOffset, int n) {
        for (int b = 0; b < n / BLOCK_SIZE; b++) {
            long o = offset + (long) b * BLOCK_BYTES;
            int y = dstOffset + b * BLOCK_SIZE;
            float d = Float.float16ToFloat(src.get(Q2KBlock.F16, o + D));
            float dmin = Float.float16ToFloat(src.get(Q2KBlock.F16, o + DMIN));
            for (int c = 0; c < 4; c++) {
                float d1 = d * scale(src, o + SCALES, 2 * c), m1 = dmin * min(src, o + SCALES, 2 * c);
                float d2 = d * scale(src, o + SCALES, 2 * c + 1), m2 = dmin * min(src, o + SCALES, 2 * c + 1);
                long q = o + QS + 32 * c;
                for (int l = 0; l < 32; l++) {
                    dst[y++] = d1 * (u8(src, q + l) & 0xF) - m1;
                }
                for (int l = 0; l < 32; l++) {
                    dst[y++] = d2 * (u8(src, q + l) >> 4) - m2;
                }
            }
        }
    }

    /** ggml's quantize_row_q4_K_ref: per sub-block make_qkx2_quants, then 6-bit scales/mins, then requantize. */
    public static void quantize(float[] src, int srcOffset, MemorySegment dst, long dstOffset, int n) {
        int[] L = new int[BLOCK_SIZE];
        int[] laux = new int[32];
        float[] weights = new float[32];
        float[] mins = new float[8];
        float[] scales = new float[8];
        byte[] sc = new byte[12];
        for (int b = 0; b < n / BLOCK_SIZE; b++) {
            int x = srcOffset + b * BLOCK_SIZE;
            long o = dstOffset + (long) b * BLOCK_BYTES;
            float maxScale = 0, maxMin = 0;
            for (int j = 0; j < 8; j++) {
                float sumX2 = 0;
                for (int l = 0; l < 32; l++) {
                    sumX2 += src[x + 32 * j + l] * src[x + 32 * j + l];
                }
                float avX = (float) Math.sqrt(sumX2 / 32);
                for (int l = 0; l < 32; l++) {
                    weights[l] = avX + Math.abs(src[x + 32 * j + l]);
                }
                scales[j] = Quants.makeQkx2Quants(32, 15, src, x + 32 * j, weights, L, 32 * j, mins, j, laux,
                        -1f, 0.1f, 20);
                maxScale = Math.max(maxScale, scales[j]);
                maxMin = Math.max(maxMin, mins[j]);
            }
            float invScale = maxScale > 0 ? 63f / maxScale : 0f;
            float invMin = maxMin > 0 ? 63f / maxMin : 0f;
            java.util.Arrays.fill(sc, (byte) 0);
            for (int j = 0; j < 8; j++) {
                int ls = Math.min(63, Quants.nearestInt(invScale * scales[j]) & 0xFF);
                int lm = Math.min(63, Quants.nearestInt(invMin * mins[j]) & 0xFF);
                if (j < 4) {
                    sc[j] = (byte) ls;
                    sc[j + 4] = (byte) lm;
                } else {
                    sc[j + 4] = (byte) ((ls & 0xF) | ((lm & 0xF) << 4));
                    sc[j - 4] |= (byte) ((ls >> 4) << 6);
                    sc[j] |= (byte) ((lm >> 4) << 6);
                }
            }
            short dh = Float.floatToFloat16(maxScale / 63f);
            short mh = Float.floatToFloat16(maxMin / 63f);
            dst.set(Q2KBlock.F16, o + D, dh);
            dst.set(Q2KBlock.F16, o + DMIN, mh);
            MemorySegment.copy(sc, 0, dst, ValueLayout.JAVA_BYTE, o + SCALES, 12);
            for (int j = 0; j < 8; j++) {
                float d = Float.float16ToFloat(dh) * scale(dst, o + SCALES, j);
                if (d == 0) {
                    continue;
                }
                float dm = Float.float16ToFloat(mh) * min(dst, o + SCALES, j);
                for (int ii = 0; ii < 32; ii++) {
                    int l = Quants.nearestInt((src[x + 32 * j + ii] + dm) / d);
                    L[32 * j + ii] = Math.max(0, Math.min(15, l));
                }
            }
            for (int c = 0; c < 4; c++) {
                for (int l = 0; l < 32; l++) {
                    dst.set(ValueLayout.JAVA_BYTE, o + QS + 32 * c + l, (byte) (L[64 * c + l] | (L[64 * c + l + 32] << 4)));
                }
            }
        }
    }

    static int u8(MemorySegment s, long o) {
        return s.get(ValueLayout.JAVA_BYTE, o) & 0xFF;
    }
}
