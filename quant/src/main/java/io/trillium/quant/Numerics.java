package io.trillium.quant;

/**
 * How a matrix-vector product treats its activations when the weights are block-quantized.
 *
 * <p>{@link #QUANTIZED} is what llama.cpp's CPU backend computes and the default: each input vector is
 * quantized once to the integer kernel's activation type (Q8_0 for the 32-blocks, Q8_K for the
 * K-quants) and multiplied in integers (native int8 dot-product kernels where the bundled library
 * loads, the Java integer route otherwise). {@link #EXACT} keeps float32 activations: results equal
 * "dequantize the weights, multiply in float" to float rounding, several times slower for K-quants.
 * Float weights (F32, F16, BF16) always take float activations. Integer kernels exist for Q2_K…Q6_K,
 * Q8_0, Q4_0 (native and Java), Q5_0, IQ4_NL, IQ4_XS and the i-quants and ternary types IQ1_S … IQ3_S,
 * TQ1_0, TQ2_0 (native only: without the library they take the float route); Q4_1, Q5_1 and the
 * checkpoint types CT_INT4 and F8_E4M3_B128 take the float route in both modes for now.
 */
public enum Numerics {
    /** Activations quantized to 8 bits once per input vector, integer kernels: llama.cpp's numerics, fast. */
    QUANTIZED,
    /** Float32 activations: "dequantize, multiply in float", to float rounding. */
    EXACT;

    /** The default: {@link #QUANTIZED}. */
    public static final Numerics DEFAULT = QUANTIZED;
}
