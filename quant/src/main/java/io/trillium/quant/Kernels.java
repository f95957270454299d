package io.trillium.quant;

import io.trillium.quant.block.*;
import io.trillium.quant.simd.*;

import java.lang.foreign.MemorySegment;
import java.util.EnumSet;
import java.util.Set;

/**
 * The kernels of every supported ggml type: scalar references, Vector API kernels,
 * quantizers and the integer (quantized-activation) route.
 */
public final class Kernels {
    private Kernels() {
    }

    /** Types with a dequantizer and dot kernels. */
    public static final Set<GgmlType> SUPPORTED = EnumSet.of(
            GgmlType.F32, GgmlType.F16, GgmlType.BF16,
            GgmlType.Q4_0, GgmlType.Q4_1, GgmlType.Q5_0, GgmlType.Q5_1, GgmlType.Q8_0,
            GgmlType.Q2_K, GgmlType.Q3_K, GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K, GgmlType.Q8_K,
            GgmlType.IQ4_NL, GgmlType.IQ4_XS, GgmlType.IQ1_S, GgmlType.IQ1_M, GgmlType.IQ2_XXS, GgmlType.IQ2_XS,
            GgmlType.IQ2_S, GgmlType.IQ3_XXS, GgmlType.IQ3_S, GgmlType.TQ1_0, GgmlType.TQ2_0);

    /** The types whose float route dequantizes block by block ({@link DequantDot}): no fused kernel yet. */
    private static final Set<GgmlType> DEQUANTIZING = EnumSet.of(GgmlType.IQ1_S, GgmlType.IQ1_M,
            GgmlType.IQ2_XXS, GgmlType.IQ2_XS, GgmlType.IQ2_S, GgmlType.IQ3_XXS, GgmlType.IQ3_S, GgmlType.TQ1_0,
            GgmlType.TQ2_0);

    /** Whether {@code type} can be dequantized and computed on. */
    public static boolean isSupported(GgmlType type) {
        return SUPPORTED.contains(type);
    }

    /** The scalar reference dequantizer of {@code type}. */
    public static Dequantizer reference(GgmlType type) {
        return switch (type) {
            case F32 -> F32Block::dequantize;
            case F16 -> F16Block::dequantize;
            case BF16 -> BF16Block::dequantize;
            case Q4_0 -> Q40Block::dequantize;
            case Q4_1 -> Q41Block::dequantize;
            case Q5_0 -> Q50Block::dequantize;
            case Q5_1 -> Q51Block::dequantize;
            case Q8_0 -> Q80Block::dequantize;
            case Q2_K -> Q2KBlock::dequantize;
            case Q3_K -> Q3KBlock::dequantize;
            case Q4_K -> Q4KBlock::dequantize;
            case Q5_K -> Q5KBlock::dequantize;
            case Q6_K -> Q6KBlock::dequantize;
            case Q8_K -> Q8KBlock::dequantize;
            case IQ4_NL -> IQ4NLBlock::dequantize;
            case IQ4_XS -> IQ4XSBlock::dequantize;
            case IQ1_S -> IQ1SBlock::dequantize;
            case IQ1_M -> IQ1MBlock::dequantize;
            case IQ2_XXS -> IQ2XXSBlock::dequantize;
            case IQ2_XS -> IQ2XSBlock::dequantize;
            case IQ2_S -> IQ2SBlock::dequantize;
            case IQ3_XXS -> IQ3XXSBlock::dequantize;
            case IQ3_S -> IQ3SBlock::dequantize;
            case TQ1_0 -> TQ1Block::dequantize;
            case TQ2_0 -> TQ2Block::dequantize;
            default -> throw unsupported(type);
        };
    }

    /** The scalar reference dot: dequantize one block at a time, then multiply-add in float. */
    public static DotKernel scalar(GgmlType type) {
        Dequantizer dq = reference(type);
        int bs = type.blockSize();
        int bb = type.blockBytes();
        return new DotKernel() {
            @Override
            public GgmlType type() {
                return type;
            }

            @Override
            public float dot(MemorySegment w, long offset, float[] x, int xOffset, int n) {
                float[] buf = new float[bs];
                float sum = 0f;
                for (int i = 0; i < n; i += bs) {
                    dq.dequantize(w, offset + (long) (i / bs) * bb, buf, 0, bs);
                    for (int j = 0; j < bs; j++) {
                        sum += buf[j] * x[xOffset + i + j];
                    }
                }
                return sum;
            }
        };
    }

    /** The i-quants' and ternary types' float route: their reference dequantizer, block by block. */
    private static final java.util.Map<GgmlType, DotKernel> DEQUANTIZED;

    static {
        java.util.Map<GgmlType, DotKernel> m = new java.util.EnumMap<>(GgmlType.class);
        for (GgmlType t : DEQUANTIZING) {
            m.put(t, new DequantDot(t, reference(t)));
        }
        DEQUANTIZED = java.util.Collections.unmodifiableMap(m);
    }

    /** The Vector API fused dequant-dot kernel of {@code type} (the dequantizing one for the i-quants). */
    public static DotKernel simd(GgmlType type) {
        return switch (type) {
            case F32 -> F32Dot.INSTANCE;
            case F16 -> F16Dot.INSTANCE;
            case BF16 -> BF16Dot.INSTANCE;
            case Q4_0 -> Q40Dot.INSTANCE;
            case Q4_1 -> Q41Dot.INSTANCE;
            case Q5_0 -> Q50Dot.INSTANCE;
            case Q5_1 -> Q51Dot.INSTANCE;
            case Q8_0 -> Q80Dot.INSTANCE;
            case Q2_K -> Q2KDot.INSTANCE;
            case Q3_K -> Q3KDot.INSTANCE;
            case Q4_K -> Q4KDot.INSTANCE;
            case Q5_K -> Q5KDot.INSTANCE;
            case Q6_K -> Q6KDot.INSTANCE;
            case Q8_K -> Q8KDot.INSTANCE;
            case IQ4_NL -> IQ4NLDot.INSTANCE;
            case IQ4_XS -> IQ4XSDot.INSTANCE;
            default -> {
                DotKernel k = DEQUANTIZED.get(type);
                if (k == null) {
                    throw unsupported(type);
                }
                yield k;
            }
        };
    }

    /** A quantizer into {@code type} (round-to-nearest; for activations, ggml's exact algorithm). */
    public static Quantizer quantizer(GgmlType type) {
        return switch (type) {
            case F32 -> F32Block::quantize;
            case F16 -> F16Block::quantize;
            case BF16 -> BF16Block::quantize;
            case Q4_0 -> Q40Block::quantize;
            case Q8_0 -> {   // in C where the native library loaded (the same bytes), else in Java
                Quantizer q = NativeKernels.q80Quantizer();
                yield q != null ? q : Q80Block::quantize;
            }
            case Q4_K -> Q4KBlock::quantize;
            case Q6_K -> Q6KBlock::quantize;
            case Q8_K -> {   // in C where the native library loaded (the same bytes), else in Java
                Quantizer q = NativeKernels.q8KQuantizer();
                yield q != null ? q : Q8KBlock::quantize;
            }
            case TQ1_0 -> TQ1Block::quantize;
            case TQ2_0 -> TQ2Block::quantize;
            case IQ3_S -> IQ3SBlock::quantize;
            default -> throw new UnsupportedOperationException("no quantizer for " + type
                    + " (quantizers exist for F32, F16, BF16, Q4_0, Q8_0, Q4_K, Q6_K, Q8_K, TQ1_0, TQ2_0, IQ3_S)");
        };
    }

    /**
     * The integer-route kernel of {@code type} (weights against Q8_0/Q8_K activations), or
     * {@code null} where none exists.
     */
    public static QuantizedDotKernel quantized(GgmlType type) {
        return switch (type) {
            case Q4_0 -> Q40IntDot.INSTANCE;
            case Q8_0 -> Q80IntDot.INSTANCE;
            case Q4_K -> Q4KIntDot.INSTANCE;
            case Q6_K -> Q6KIntDot.INSTANCE;
            default -> null;
        };
    }

    /**
     * The fastest integer-route kernel of {@code type}: the native (C, int8 dot-product) kernel where
     * the bundled library loaded on this CPU, else {@link #quantized}; {@code null} where neither exists.
     * Same semantics and activation type as {@link #quantized}. Q2_K, Q3_K and Q5_K have only a native
     * kernel, so they get one here only where the library loaded.
     */
    public static QuantizedDotKernel quantizedBest(GgmlType type) {
        QuantizedDotKernel k = NativeKernels.kernel(type);
        return k != null ? k : quantized(type);
    }

    /**
     * Bits of the float vectors the Vector API kernels use in this JVM (512 with AVX-512, else 256),
     * chosen once at class initialisation.
     */
    public static int vectorBitSize() {
        return io.trillium.quant.simd.VectorWidth.bits();
    }

    /**
     * What the Vector API kernels run as: "512-bit vectors" or "256-bit vectors", with a warning when
     * the JVM cannot intrinsify that width (a 128-bit machine: correct, boxed, several times slower).
     */
    public static String vectorStatus() {
        int bits = vectorBitSize();
        int preferred = io.trillium.quant.simd.VectorWidth.preferredBits();
        return bits + "-bit vectors" + (preferred < bits
                ? " (the JVM prefers " + preferred + " bits: the Java kernels run boxed and slow)" : "");
    }

    /** Which native kernels are in use, or why none are ("native kernels unavailable: reason"). */
    public static String nativeStatus() {
        return NativeKernels.status();
    }

    /** Whether {@code t} can be dequantized and computed on (its type, and the scales a checkpoint type needs). */
    public static boolean isSupported(Tensor t) {
        return t.type().hasScales() ? t.scales() != null : isSupported(t.type());
    }

    /**
     * The scalar reference dequantizer of {@code t}'s rows: {@link #reference(GgmlType)}, or for a
     * checkpoint type one bound to the tensor's scales (offsets relative to {@code t.data()}).
     */
    public static Dequantizer reference(Tensor t) {
        return switch (t.type()) {
            case CT_INT4 -> (src, off, dst, dOff, n) -> CtInt4Block.dequantize(src, off, t.scales(), dst, dOff, n);
            case F8_E4M3_B128 -> (src, off, dst, dOff, n) ->
                    Fp8Block.dequantize(src, off, t.scales(), t.rowLength(), dst, dOff, n);
            default -> reference(t.type());
        };
    }

    /** The scalar reference dot of {@code t}: its reference dequantizer, then a float dot. */
    public static DotKernel scalar(Tensor t) {
        if (!t.type().hasScales()) {
            return scalar(t.type());
        }
        Dequantizer dq = reference(t);
        return new DotKernel() {
            @Override
            public GgmlType type() {
                return t.type();
            }

            @Override
            public float dot(MemorySegment w, long offset, float[] x, int xOffset, int n) {
                float[] buf = new float[n];
                dq.dequantize(w, offset, buf, 0, n);
                float sum = 0f;
                for (int j = 0; j < n; j++) {
                    sum += buf[j] * x[xOffset + j];
                }
                return sum;
            }
        };
    }

    /** The Vector API dot kernel of {@code t}: {@link #simd(GgmlType)}, or one bound to a checkpoint type's scales. */
    public static DotKernel simd(Tensor t) {
        return switch (t.type()) {
            case CT_INT4 -> new CtInt4Dot(t.scales());
            case F8_E4M3_B128 -> new Fp8Dot(t.scales(), t.rowLength());
            default -> simd(t.type());
        };
    }

    /** Packs INT4 values ({@code [-8, 7]}, a multiple of 8) into compressed-tensors words (value + 8 in bits 4k..4k+3). */
    public static void packInt4(int[] q, int qOffset, MemorySegment dst, long dstOffset, int n) {
        CtInt4Block.pack(q, qOffset, dst, dstOffset, n);
    }

    /** {@code f} rounded to BF16 bits (nearest even). */
    public static short toBF16(float f) {
        return BF16Block.toBF16(f);
    }

    /** The FP8 e4m3fn byte {@code b} as float (NaN for S.1111.111). */
    public static float fromFp8(byte b) {
        return Fp8Block.decode(b);
    }

    /** The nearest FP8 e4m3fn byte to {@code f} (saturating at ±448). */
    public static byte toFp8(float f) {
        return Fp8Block.encode(f);
    }

    private static UnsupportedOperationException unsupported(GgmlType type) {
        if (type.hasScales()) {
            return new UnsupportedOperationException(type + " kernels need the tensor's scales: use the Tensor overloads");
        }
        return new UnsupportedOperationException("ggml type " + type + " (id " + type.id()
                + ") is not supported; supported: " + SUPPORTED);
    }
}
