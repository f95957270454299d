package io.trillium.quant.block;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The codebooks of the i-quants: each IQ1/IQ2/IQ3 block stores indices into a fixed set of 8 (IQ2, IQ1) or
 * 4 (IQ3) magnitudes, chosen by ggml to cover the likely weight vectors. They are part of the format (ggml's
 * ggml-common.h; {@code iq-grids.bin} was extracted from llama.cpp 34af94c by quant/scripts/extract-iq-grids.py)
 * and are held here expanded: entry i of a grid is {@code grid[i * width .. (i + 1) * width)}.
 */
final class IQGrids {
    private IQGrids() {
    }

    /** The block layouts' little-endian words (Q5_0's and F16's). */
    static final ValueLayout.OfInt LE_INT = Q50Block.LE_INT;
    static final ValueLayout.OfShort LE_SHORT = F16Block.LE_SHORT;

    /** 256 entries of 8 magnitudes (IQ2_XXS). */
    static final byte[] IQ2XXS;
    /** 512 entries of 8 magnitudes (IQ2_XS). */
    static final byte[] IQ2XS;
    /** 1024 entries of 8 magnitudes (IQ2_S). */
    static final byte[] IQ2S;
    /** 256 entries of 4 magnitudes (IQ3_XXS). */
    static final byte[] IQ3XXS;
    /** 512 entries of 4 magnitudes (IQ3_S). */
    static final byte[] IQ3S;
    /** 2048 entries of 8 values in {-1, 0, 1} (IQ1_S, IQ1_M). */
    static final byte[] IQ1S;

    /**
     * The 8 signs of a group from its 7 stored bits: bit 7 makes the count of minus signs even (the
     * quantizer flips the smallest value when it is not), so {@code SIGNS[i] = i | parity(i) << 7}.
     */
    static final int[] SIGNS = new int[128];

    static {
        byte[] all;
        try (InputStream in = IQGrids.class.getResourceAsStream("iq-grids.bin")) {
            if (in == null) {
                throw new IllegalStateException("io/trillium/quant/block/iq-grids.bin is missing from the jar");
            }
            all = in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException("reading the i-quant grids", e);
        }
        if (all.length != 33792) {
            throw new IllegalStateException("iq-grids.bin: " + all.length + " bytes, expected 33792");
        }
        int at = 0;
        IQ2XXS = java.util.Arrays.copyOfRange(all, at, at += 256 * 8);
        IQ2XS = java.util.Arrays.copyOfRange(all, at, at += 512 * 8);
        IQ2S = java.util.Arrays.copyOfRange(all, at, at += 1024 * 8);
        IQ3XXS = java.util.Arrays.copyOfRange(all, at, at += 256 * 4);
        IQ3S = java.util.Arrays.copyOfRange(all, at, at += 512 * 4);
        IQ1S = java.util.Arrays.copyOfRange(all, at, at + 2048 * 8);
        for (int i = 0; i < 128; i++) {
            SIGNS[i] = i | (Integer.bitCount(i) & 1) << 7;
        }
    }

    /** Decodes the block at {@code o} into {@code dst[y .. y + 256)}. */
    @FunctionalInterface
    interface Block {
        void decode(MemorySegment src, long o, float[] dst, int y);
    }

    /** The {@code n / 256} blocks of {@code blockBytes} each from {@code offset}, one after the other. */
    static void blocks(MemorySegment src, long offset, float[] dst, int dstOffset, int n, int blockBytes, Block one) {
        for (int b = 0; b < n / 256; b++) {
            one.decode(src, offset + (long) b * blockBytes, dst, dstOffset + b * 256);
        }
    }

    static int u8(MemorySegment s, long o) {
        return Q4KBlock.u8(s, o);
    }

    static int u16(MemorySegment s, long o) {
        return s.get(LE_SHORT, o) & 0xFFFF;
    }

    static float f16(MemorySegment s, long o) {
        return F16Block.f16(s, o);
    }

    static void putU8(MemorySegment s, long o, int v) {
        s.set(java.lang.foreign.ValueLayout.JAVA_BYTE, o, (byte) v);
    }

    /** The largest magnitude of {@code n} values from {@code from} (the quantizers' block or sub-block scale). */
    static float absMax(float[] src, int from, int n) {
        float m = 0f;
        for (int i = 0; i < n; i++) {
            m = Math.max(m, Math.abs(src[from + i]));
        }
        return m;
    }

    /** {@code v} (a value over its scale, in [-1, 1]) rounded to -1, 0 or 1, halves away from zero (C's lroundf). */
    static int trit(float v) {
        int r = (int) Math.floor(Math.abs(v) + 0.5f);
        return (int) Math.signum(v) * Math.min(1, r);
    }

    /** {@code value} negated where bit j of {@code signs} is set (the exact sign flip of ggml's {@code * -1.f}). */
    static float signed(float value, int signs, int j) {
        return (signs & (1 << j)) != 0 ? -value : value;
    }
}
