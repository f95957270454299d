package io.trillium.quant.block;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Q6_K: 256 elements in 16 sub-blocks of 16, 210 bytes.
 * {@code u8 ql[128]} (low 4 bits); {@code u8 qh[64]} (high 2 bits); {@code i8 scales[16]}; {@code f16 d}.
 * Per half h (128 elements: ql += 64, qh += 32, scales += 8) and l in 0..31, the four quants of
 * elements l, l+32, l+64, l+96 are ql[l] low, ql[l+32] low, ql[l] high, ql[l+32] high nibbles with
 * qh[l] bits 0-1, 2-3, 4-5, 6-7 on top, minus 32. y = (d * sc) * q.
 */
public final class Q6KBlock {
    private Q6KBlock() {
    }

    public static final int BLOCK_SIZE = 256;
    public static final int BLOCK_BYTES = 210;
    public static final int QL = 0;
    public static final int QH = 128;
    public static final int SCALES = 192;
    public static final int D = 208;

    public static void dequantize(MemorySegment src, long offset, float[] dst, int dstOffset, int n) {
        for (int b = 0; b < n / BLOCK_SIZE; b++) {
            long o = offset + (long) b * BLOCK_BYTES;
            float d = Float.float16ToFloat(src.get(Q2KBlock.F16, o + D));
            for (int h = 0; h < 2; h++) {
                long ql = o + QL + 64 * h, qh = o + QH + 32 * h, sc = o + SCALES + 8 * h;
                int y = dstOffset + b * BLOCK_SIZE + 128 * h;
                for (int l = 0; l < 32; l++) {
                    int is = l / 16;
                    int a = Q4KBlock.u8(src, ql + l), c = Q4KBlock.u8(src, ql + l + 32), hb = Q4KBlock.u8(src, qh + l);
                    int q1 = ((a & 0xF) | ((hb & 3) << 4)) - 32;
                    int q2 = ((c & 0xF) | (((hb >> 2) & 3) << 4)) - 32;
                    int q3 = ((a >> 4) | (((hb >> 4) & 3) << 4)) - 32;
                    int q4 = ((c >> 4) | (((hb >> 6) & 3) << 4)) - 32;
                    dst[y + l] = d * s8(src, sc + is) * q1;
                    dst[y + l + 32] = d * s8(src, sc + is + 2) * q2;
                    dst[y + l + 64] = d * s8(src, sc + is + 4) * q3;
                    dst[y + l + 96] = d * s8(src, sc + is + 6) * q4;
                }
            }
        }
    }

    /** ggml's quantize_row_q6_K_ref: make_qx_quants per 16, int8 block scales, requantize to [-32, 31]. */
    public static void quantize(float[] src, int srcOffset, MemorySegment dst, long dstOffset, int n) {
        int[] L = new int[BLOCK_SIZE];
        float[] scales = new float[16];
        for (int b = 0; b < n / BLOCK_SIZE; b++) {
            int x = srcOffset + b * BLOCK_SIZE;
            long o = dstOffset + (long) b * BLOCK_BYTES;
            float maxScale = 0, maxAbsScale = 0;
            for (int ib = 0; ib < 16; ib++) {
                float scale = Quants.makeQxQuants(16, 32, src, x + 16 * ib, L, 16 * ib);
                scales[ib] = scale;
                if (Math.abs(scale) > maxAbsScale) {
                    maxAbsScale = Math.abs(scale);
                    maxScale = scale;
                }
            }
            if (maxAbsScale < Quants.GROUP_MAX_EPS) {
                dst.asSlice(o, BLOCK_BYTES).fill((byte) 0);
                continue;
            }
            float iscale = -128f / maxScale;
            short dh = Float.floatToFloat16(1 / iscale);
            dst.set(Q2KBlock.F16, o + D, dh);
            for (int ib = 0; ib < 16; ib++) {
                dst.set(ValueLayout.JAVA_BYTE, o + SCALES + ib, (byte) Math.min(127, Quants.nearestInt(iscale * scales[ib])));
            }
            for (int j = 0; j < 16; j++) {
                float d = Float.float16ToFloat(dh) * s8(dst, o + SCALES + j);
                if (d == 0) {
                    continue;
                }
                for (int ii = 0; ii < 16; ii++) {
                    int l = Quants.nearestInt(src[x + 16 * j + ii] / d);
                    L[16 * j + ii] = Math.max(-32, Math.min(31, l)) + 32;
                }
            }
            for (int h = 0; h < 2; h++) {
                int j = 128 * h;
                for (int l = 0; l < 32; l++) {
                    int q1 = L[j + l], q2 = L[j + l + 32], q3 = L[j + l + 64], q4 = L[j + l + 96];
                    dst.set(ValueLayout.JAVA_BYTE, o + QL + 64 * h + l, (byte) ((q1 & 0xF) | ((q3 & 0xF) << 4)));
                    dst.set(ValueLayout.JAVA_BYTE, o + QL + 64 * h + l + 32, (byte) ((q2 & 0xF) | ((q4 & 0xF) << 4)));
                    dst.set(ValueLayout.JAVA_BYTE, o + QH + 32 * h + l,
                            (byte) ((q1 >> 4) | ((q2 >> 4) << 2) | ((q3 >> 4) << 4) | ((q4 >> 4) << 6)));
                }
            }
        }
    }

    static int s8(MemorySegment s, long o) {
        return s.get(ValueLayout.JAVA_BYTE, o);
    }
}
