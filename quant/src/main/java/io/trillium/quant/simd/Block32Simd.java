package io.trillium.quant.simd;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Shared species and scalar helpers of the 32-element-block kernels. A float vector holds {@link #L} = 16
 * lanes with AVX-512, 8 otherwise; a 32-block is 32 / L float vectors, and L bytes of quants widen
 * to one float vector. (128-bit-only machines get the 256-bit species: correct, not fast.)
 *
 * <p>What C2 needs to intrinsify the kernels (else each vector op falls back to Java code and
 * allocates, 5-10x slower):
 * <ul>
 * <li>Every Vector API call of the hot loop inlined into one compilation, and so <b>no method of ours
 * takes or returns a vector</b>: only the JDK's {@code @ForceInline} methods are inlined whatever
 * happens; one of ours is left out of line, its vectors boxed, once the compilation has passed C2's
 * node cutoff (18,000 nodes, a few dozen Vector API calls), when it was compiled on its own first, or
 * when its call site had not run yet, all of which vary with machine and timing (one CI machine's
 * decode allocated 12.8 MB per token through such helpers where this one allocated nothing).
 * KernelCompileBudgetTest reads C2's log to hold this.</li>
 * <li>Kernels small enough: past about 40,000 live nodes C2 stops expanding the late-inlined vector
 * intrinsics, so each kernel's own {@code matVec} calls its {@code dot} (the interface default's
 * call site, shared by every kernel, inlined two kernels into one compilation).</li>
 * <li>Conversion part numbers and species that are constants at parse time ({@code convertShape}
 * with an explicit conversion, never a loop over parts), and no byte-lane shifts.</li>
 * </ul>
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





    static void checkBlocks(int n, int qk) {
        if (n % qk != 0) {
            throw new IllegalArgumentException("n = " + n + " is not a multiple of the block size " + qk);
        }
    }
}
