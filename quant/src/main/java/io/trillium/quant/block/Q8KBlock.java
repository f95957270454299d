package io.trillium.quant.block;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Q8_K: the activation format of the 256-block integer route, 292 bytes.
 * {@code f32 d; i8 qs[256]; i16 bsums[16]} (bsums[j] = sum of qs[16j .. 16j+15], for the min terms).
 * y = d * q.
 */
public final class Q8KBlock {
    private Q8KBlock() {
    }

    public static final int BLOCK_SIZE = 256;
    public static final int BLOCK_BYTES = 292;
    public static final int D = 0;
    public static final int QS = 4;
    public static final int BSUMS = 260;

    public static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    public static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    public static void dequantize(MemorySegment src, long offset, float[] dst, int dstOffset, int n) {
        for (int b = 0; b < n / BLOCK_SIZE; b++) {
            long o = offset + (long) b * BLOCK_BYTES;
            float d = src.get(F32, o + D);
            for (int j = 0; j < BLOCK_SIZE; j++) {
                dst[dstOffset + b * BLOCK_SIZE + j] = d * src.get(ValueLayout.JAVA_BYTE, o + QS + j);
            }
        }
    }

    /** Exactly ggml's quantize_row_q8_K_ref: scale -127/max (max = signed value of largest magnitude). */
    public static void quantize(float[] src, int srcOffset, MemorySegment dst, long dstOffset, int n) {
        for (int b = 0; b < n / BLOCK_SIZE; b++) {
            int x = srcOffset + b * BLOCK_SIZE;
            long o = dstOffset + (long) b * BLOCK_BYTES;
            float max = 0, amax = 0;
            for (int j = 0; j < BLOCK_SIZE; j++) {
                float ax = Math.abs(src[x + j]);
                if (ax > amax) {
                    amax = ax;
                    max = src[x + j];
                }
            }
            if (amax == 0) {
                // ggml leaves bsums untouched here; zero them so the block is fully defined
                dst.asSlice(o, BLOCK_BYTES).fill((byte) 0);
                continue;
            }
            float iscale = -127f / max;
            for (int j = 0; j < BLOCK_SIZE; j++) {
                int v = Quants.nearestInt(iscale * src[x + j]);
                dst.set(ValueLayout.JAVA_BYTE, o + QS + j, (byte) Math.min(127, v));
            }
            for (int j = 0; j < 16; j++) {
                int sum = 0;
                for (int i = 0; i < 16; i++) {
                    sum += dst.get(ValueLayout.JAVA_BYTE, o + QS + 16 * j + i);
                }
                dst.set(I16, o + BSUMS + 2 * j, (short) sum);
            }
            dst.set(F32, o + D, 1 / iscale);
        }
    }
}
