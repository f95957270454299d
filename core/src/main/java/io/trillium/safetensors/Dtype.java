package io.trillium.safetensors;

import io.trillium.quant.GgmlType;

/** The safetensors element types (safetensors {@code Dtype}), with their width in bits. */
public enum Dtype {
    BOOL(8), U8(8), I8(8), F8_E5M2(8), F8_E4M3(8), F8_E8M0(8), I16(16), U16(16), F16(16), BF16(16),
    I32(32), U32(32), F32(32), F64(64), I64(64), U64(64), C64(64), F4(4), F6_E2M3(6), F6_E3M2(6);

    private final int bits;

    Dtype(int bits) {
        this.bits = bits;
    }

    /** Bits per element. */
    public int bits() {
        return bits;
    }

    /** Bytes of {@code elements} elements, or -1 when they do not fill whole bytes. */
    public long bytesFor(long elements) {
        long b = Math.multiplyExact(elements, (long) bits);
        return b % 8 == 0 ? b / 8 : -1;
    }

    /** The ggml type that holds the same bytes, or null where there is none (FP8, unsigned, sub-byte). */
    public GgmlType ggml() {
        return switch (this) {
            case F32 -> GgmlType.F32;
            case F16 -> GgmlType.F16;
            case BF16 -> GgmlType.BF16;
            case F64 -> GgmlType.F64;
            case I8 -> GgmlType.I8;
            case I16 -> GgmlType.I16;
            case I32 -> GgmlType.I32;
            case I64 -> GgmlType.I64;
            default -> null;
        };
    }

    /** The dtype named {@code s} in a header, or null. */
    static Dtype parse(String s) {
        for (Dtype d : values()) {
            if (d.name().equals(s)) {
                return d;
            }
        }
        return null;
    }
}
