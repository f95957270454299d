package io.trillium.quant;

/**
 * The ggml tensor element types, with their on-disk ids and block geometry
 * (ggml.h / ggml-common.h). A row of {@code n} elements is {@code n / blockSize}
 * consecutive blocks of {@code blockBytes} each.
 */
public enum GgmlType {
    F32(0, 1, 4),
    F16(1, 1, 2),
    Q4_0(2, 32, 18),
    Q4_1(3, 32, 20),
    Q5_0(6, 32, 22),
    Q5_1(7, 32, 24),
    Q8_0(8, 32, 34),
    Q8_1(9, 32, 36),
    Q2_K(10, 256, 84),
    Q3_K(11, 256, 110),
    Q4_K(12, 256, 144),
    Q5_K(13, 256, 176),
    Q6_K(14, 256, 210),
    Q8_K(15, 256, 292),
    IQ2_XXS(16, 256, 66),
    IQ2_XS(17, 256, 74),
    IQ3_XXS(18, 256, 98),
    IQ1_S(19, 256, 50),
    IQ4_NL(20, 32, 18),
    IQ3_S(21, 256, 110),
    IQ2_S(22, 256, 82),
    IQ4_XS(23, 256, 136),
    I8(24, 1, 1),
    I16(25, 1, 2),
    I32(26, 1, 4),
    I64(27, 1, 8),
    F64(28, 1, 8),
    IQ1_M(29, 256, 56),
    BF16(30, 1, 2),
    TQ1_0(34, 256, 54),
    TQ2_0(35, 256, 66),
    MXFP4(39, 32, 17),
    /**
     * Not a GGUF type: compressed-tensors "pack-quantized" INT4 (Kimi K2-Thinking/K2.5 experts). The
     * data is the int32 words, 8 values each (value + 8 in bits 4k..4k+3), 16 bytes per 32 inputs;
     * the BF16 scale per 32 inputs is a companion segment ({@link Tensor#scales()}).
     */
    CT_INT4(-1, 32, 16),
    /**
     * Not a GGUF type: FP8 e4m3fn weights (DeepSeek-V3, Kimi K2), one byte each; the F32
     * {@code weight_scale_inv} per 128×128 block is a companion segment ({@link Tensor#scales()}).
     */
    F8_E4M3_B128(-2, 1, 1);

    private static final GgmlType[] BY_ID = new GgmlType[64];

    static {
        for (GgmlType t : values()) {
            if (t.id >= 0) {
                BY_ID[t.id] = t;
            }
        }
    }

    private final int id;
    private final int blockSize;
    private final int blockBytes;

    GgmlType(int id, int blockSize, int blockBytes) {
        this.id = id;
        this.blockSize = blockSize;
        this.blockBytes = blockBytes;
    }

    /** The type id stored in GGUF tensor infos. */
    public int id() {
        return id;
    }

    /** Elements per block (1 for plain element types). */
    public int blockSize() {
        return blockSize;
    }

    /** Bytes per block. */
    public int blockBytes() {
        return blockBytes;
    }

    /** Whether GGUF files can hold this type (the checkpoint-only types have no GGUF id). */
    public boolean isGguf() {
        return id >= 0;
    }

    /** Whether a tensor of this type carries a companion scale segment ({@link Tensor#scales()}). */
    public boolean hasScales() {
        return this == CT_INT4 || this == F8_E4M3_B128;
    }

    /**
     * Bytes of the companion scales of a {@code [cols, rows]} matrix: a BF16 per 32 inputs (CT_INT4),
     * an F32 per 128×128 block (F8_E4M3_B128); 0 for the other types.
     */
    public long scaleBytes(long cols, long rows) {
        return switch (this) {
            case CT_INT4 -> Math.multiplyExact(rows, cols / 32 * 2);
            case F8_E4M3_B128 -> Math.multiplyExact((rows + 127) / 128, (cols + 127) / 128 * 4);
            default -> 0;
        };
    }

    /** True for the block-quantized types (everything but plain float/int element types). */
    public boolean isQuantized() {
        return blockSize > 1;
    }

    /**
     * Bytes taken by {@code elements} consecutive elements.
     *
     * @throws IllegalArgumentException if {@code elements} is negative or not a multiple of the block size
     */
    public long bytesFor(long elements) {
        if (elements < 0 || elements % blockSize != 0) {
            throw new IllegalArgumentException(
                    name() + ": " + elements + " elements is not a multiple of the block size " + blockSize);
        }
        return Math.multiplyExact(elements / blockSize, (long) blockBytes);
    }

    /** The type with this GGUF id, or {@code null} if the id is unknown. */
    public static GgmlType byId(int id) {
        return id >= 0 && id < BY_ID.length ? BY_ID[id] : null;
    }
}
