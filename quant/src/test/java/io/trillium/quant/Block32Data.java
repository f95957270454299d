package io.trillium.quant;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.List;
import java.util.Random;

/** Random test data for the 32-element-block family and the plain float types. */
final class Block32Data {
    private Block32Data() {
    }

    static final List<GgmlType> FAMILY = List.of(GgmlType.F32, GgmlType.F16, GgmlType.BF16,
            GgmlType.Q4_0, GgmlType.Q4_1, GgmlType.Q5_0, GgmlType.Q5_1, GgmlType.Q8_0, GgmlType.IQ4_NL);

    static final ValueLayout.OfShort LE_SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfFloat LE_FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /**
     * fp16 scales that stress the kernels: smallest subnormal, largest subnormal, smallest normal,
     * largest finite, negative ones, one, zero.
     */
    static final short[] EXTREME_SCALES = {0x0001, 0x03FF, 0x0400, 0x7BFF, (short) 0x8001, (short) 0x83FF,
            (short) 0xFBFF, 0x3C00, (short) 0xBC00, 0x0000, (short) 0x8000};

    /** Byte offsets of the fp16 scales (d, and m where present) inside one block. */
    static int[] scaleOffsets(GgmlType t) {
        return switch (t) {
            case Q4_0, Q5_0, Q8_0, IQ4_NL -> new int[] {0};
            case Q4_1, Q5_1 -> new int[] {0, 2};
            default -> new int[0];
        };
    }

    /** A random finite fp16 with a magnitude in about [1e-4, 1]: typical block scales. */
    static short typicalScale(Random rnd) {
        float v = (float) Math.exp(-9.2 * rnd.nextDouble()) * (rnd.nextBoolean() ? 1 : -1);
        return Float.floatToFloat16(v);
    }

    /**
     * {@code count} elements of {@code t} at {@code seg[offset]}: random quant bits, fp16 scales drawn
     * from {@code scales} (or typical values when null); plain types get random finite values
     * (fp16 including subnormals, bf16 and f32 within +-2^40 so no dot overflows).
     */
    static void fill(GgmlType t, MemorySegment seg, long offset, long count, Random rnd, short[] scales) {
        long bytes = t.bytesFor(count);
        for (long i = 0; i < bytes; i++) {
            seg.set(ValueLayout.JAVA_BYTE, offset + i, (byte) rnd.nextInt());
        }
        switch (t) {
            case F32 -> {
                for (long i = 0; i < count; i++) {
                    seg.set(LE_FLOAT, offset + 4 * i, randomFloat(rnd));
                }
            }
            case F16 -> {
                for (long i = 0; i < count; i++) {
                    short h = (short) rnd.nextInt();
                    if ((h & 0x7C00) == 0x7C00) {
                        h &= (short) 0xBFFF; // no inf/NaN
                    }
                    seg.set(LE_SHORT, offset + 2 * i, h);
                }
            }
            case BF16 -> {
                for (long i = 0; i < count; i++) {
                    int bits = Float.floatToRawIntBits(randomFloat(rnd));
                    seg.set(LE_SHORT, offset + 2 * i, (short) (bits >>> 16));
                }
            }
            default -> {
                int[] so = scaleOffsets(t);
                for (long b = 0; b < count / t.blockSize(); b++) {
                    for (int o : so) {
                        short s = scales == null ? typicalScale(rnd) : scales[rnd.nextInt(scales.length)];
                        seg.set(LE_SHORT, offset + b * t.blockBytes() + o, s);
                    }
                }
            }
        }
    }

    /** Random finite float: sign, magnitude 2^[-40, 40], sometimes zero or subnormal. */
    static float randomFloat(Random rnd) {
        return switch (rnd.nextInt(20)) {
            case 0 -> 0f;
            case 1 -> Float.MIN_VALUE * rnd.nextInt(1 << 20) * (rnd.nextBoolean() ? 1 : -1);
            default -> (float) ((rnd.nextDouble() * 2 - 1) * Math.pow(2, rnd.nextInt(81) - 40));
        };
    }

    static float[] randomVector(int n, Random rnd) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) rnd.nextGaussian();
        }
        return x;
    }

    static MemorySegment allocate(Arena arena, long bytes) {
        return arena.allocate(Math.max(1, bytes), 64);
    }

    /** Dequantized row with the reference. */
    static float[] dequantize(GgmlType t, MemorySegment seg, long offset, int n) {
        float[] w = new float[n];
        Kernels.reference(t).dequantize(seg, offset, w, 0, n);
        return w;
    }

    /** Sum of |w_i x_i| in double: the scale of the rounding error of any float dot. */
    static double absDot(float[] w, float[] x, int xOffset) {
        double s = 0;
        for (int i = 0; i < w.length; i++) {
            s += Math.abs((double) w[i] * x[xOffset + i]);
        }
        return s;
    }

    static double exactDot(float[] w, float[] x, int xOffset) {
        double s = 0;
        for (int i = 0; i < w.length; i++) {
            s += (double) w[i] * x[xOffset + i];
        }
        return s;
    }
}
