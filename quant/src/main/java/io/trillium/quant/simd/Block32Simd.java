package io.trillium.quant.simd;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Shared species and helpers of the 32-element-block kernels. A float vector holds {@link #L} = 16
 * lanes with AVX-512, 8 otherwise; a 32-block is 32 / L float vectors, and L bytes of quants widen
 * to one float vector. (128-bit-only machines get the 256-bit species: correct, not fast.)
 *
 * <p>What C2 needs to intrinsify the kernels (else each vector op falls back to Java code and
 * allocates, 5-10x slower): every Vector API call of the hot loop inlined into one compilation
 * (helpers tiny; the loop in a method that is a compilation root or small enough to inline),
 * conversion part numbers and species that are constants at parse time ({@code convertShape}
 * with an explicit conversion, never a loop over parts), and no byte-lane shifts.
 */
final class Block32Simd {
    private Block32Simd() {
    }

    static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED.vectorBitSize() >= 512
            ? FloatVector.SPECIES_512 : FloatVector.SPECIES_256;
    static final int L = F.length();
    static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, F.vectorShape());
    /** L bytes: widens to one float vector. */
    static final VectorSpecies<Byte> B = VectorSpecies.of(byte.class, VectorShape.forBitSize(L * 8));
    /** 16 bytes: the quants of a 4-bit block, widened to floats in 16 / L parts. */
    static final VectorSpecies<Byte> B16 = ByteVector.SPECIES_128;
    /** L shorts: widens to one float/int vector. */
    static final VectorSpecies<Short> S = VectorSpecies.of(short.class, VectorShape.forBitSize(L * 16));

    /** 2L bytes: widens to one vector of 2L shorts, SF (same shape as F). */
    static final VectorSpecies<Byte> B2 = VectorSpecies.of(byte.class, VectorShape.forBitSize(L * 16));
    static final VectorSpecies<Short> SF = VectorSpecies.of(short.class, F.vectorShape());

    static final ValueLayout.OfShort LE_SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(LE);
    static final ValueLayout.OfFloat LE_FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(LE);
    static final ValueLayout.OfInt LE_INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(LE);

    /** The fp16 at {@code seg[off]} as float (vcvtph2ps on x86). */
    static float f16(MemorySegment seg, long off) {
        return Float.float16ToFloat(seg.get(LE_SHORT, off));
    }

    /** L signed bytes at {@code seg[off]} widened to floats. */
    static FloatVector bytesToFloats(MemorySegment seg, long off) {
        return (FloatVector) ByteVector.fromMemorySegment(B, seg, off, LE).convertShape(VectorOperators.B2F, F, 0);
    }

    /** 2L signed bytes at {@code seg[off]} widened to shorts. */
    static ShortVector bytesToShorts(MemorySegment seg, long off) {
        return (ShortVector) ByteVector.fromMemorySegment(B2, seg, off, LE).convertShape(VectorOperators.B2S, SF, 0);
    }

    /**
     * Sums adjacent pairs of int16 lanes into int32 lanes (what vpmaddwd does, which the Vector
     * API lacks). With v = hi * 2^16 + lo (lo unsigned), v + (v << 16) = (hi + lo_signed) * 2^16 + lo,
     * so an arithmetic shift by 16 leaves hi + lo_signed, valid while |hi + lo| < 2^15.
     */
    static IntVector pairSum(ShortVector p) {
        IntVector v = p.reinterpretAsInts();
        return v.add(v.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16);
    }

    /**
     * The high nibble of each byte, in [0, 15]. Shifted in int lanes: byte shifts with a scalar
     * count do not intrinsify here (C2 sees a non-constant opcode) and fall back to Java code.
     */
    static ByteVector highNibbles(ByteVector qs) {
        return qs.reinterpretAsInts().lanewise(VectorOperators.LSHR, 4).reinterpretAsBytes().and((byte) 0x0F);
    }

    static void checkBlocks(int n, int qk) {
        if (n % qk != 0) {
            throw new IllegalArgumentException("n = " + n + " is not a multiple of the block size " + qk);
        }
    }
}
