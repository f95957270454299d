package io.trillium.quant.block;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * compressed-tensors "pack-quantized" INT4, symmetric, group 32 (Kimi K2-Thinking / K2.5 experts):
 * {@code weight_packed} int32 words hold 8 consecutive inputs each, value k of a word in bits
 * 4k..4k+3 as q + 8 (offset code, q in [-8, 7]); {@code weight_scale} has a BF16 per 32 inputs;
 * W[r, c] = q[r, c] · scale[r, c / 32]. A 32-group is 4 words (16 bytes) and one scale (2 bytes),
 * so the scale of the group at packed byte offset {@code o} is at scale byte offset {@code o / 8}.
 */
public final class CtInt4Block {
    /** Inputs per scale. */
    public static final int GROUP = 32;
    /** Packed bytes per group. */
    public static final int BYTES = 16;

    static final ValueLayout.OfInt LE_INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private CtInt4Block() {
    }

    /** Value {@code k} (0..7) of a packed word: ((word >> 4k) & 0xF) − 8. */
    public static int unpack(int word, int k) {
        return ((word >>> (4 * k)) & 0xF) - 8;
    }

    /** The BF16 at {@code seg[off]} as float. */
    public static float bf16(MemorySegment seg, long off) {
        return Float.intBitsToFloat((seg.get(F16Block.LE_SHORT, off) & 0xFFFF) << 16);
    }

    /**
     * Decodes {@code n} inputs (a multiple of 32) whose words start at {@code packed[offset]} (a group
     * start) with their scales in {@code scales}.
     */
    public static void dequantize(MemorySegment packed, long offset, MemorySegment scales,
                                  float[] dst, int dstOffset, int n) {
        if (n % GROUP != 0 || offset % BYTES != 0) {
            throw new IllegalArgumentException("INT4 groups: n = " + n + ", offset = " + offset
                    + " (need multiples of 32 values / 16 bytes)");
        }
        for (int g = 0; g < n / GROUP; g++) {
            long o = offset + (long) g * BYTES;
            float d = bf16(scales, o / 8);
            for (int w = 0; w < 4; w++) {
                int word = packed.get(LE_INT, o + 4L * w);
                for (int k = 0; k < 8; k++) {
                    dst[dstOffset + g * GROUP + w * 8 + k] = unpack(word, k) * d;
                }
            }
        }
    }

    /**
     * Packs q values ({@code [-8, 7]}, a multiple of 8 of them) into words at {@code dst[dstOffset]}:
     * the inverse of the unpacking, as compressed-tensors writes it.
     */
    public static void pack(int[] q, int qOffset, MemorySegment dst, long dstOffset, int n) {
        for (int w = 0; w < n / 8; w++) {
            int word = 0;
            for (int k = 0; k < 8; k++) {
                int v = q[qOffset + w * 8 + k];
                if (v < -8 || v > 7) {
                    throw new IllegalArgumentException("INT4 value " + v + " outside [-8, 7]");
                }
                word |= (v + 8) << (4 * k);
            }
            dst.set(LE_INT, dstOffset + 4L * w, word);
        }
    }
}
