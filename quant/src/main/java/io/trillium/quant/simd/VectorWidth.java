package io.trillium.quant.simd;

/**
 * The vector width the Vector API kernels were built for in this JVM: chosen once, at class
 * initialisation, from the preferred species (512 bits with AVX-512, else 256; a 128-bit machine gets
 * the 256-bit species, correct but not intrinsified). {@code -XX:MaxVectorSize=32} or
 * {@code -XX:UseAVX=2} on an AVX-512 machine selects the 256-bit kernels, as an AVX2-only CPU does.
 */
public final class VectorWidth {
    private VectorWidth() {
    }

    /** Bits of the float vectors of every kernel (the 32-block and the 256-block families agree). */
    public static int bits() {
        return KVec.F.vectorBitSize();
    }

    /** Bits of the JVM's preferred float species (what C2 can intrinsify); below {@link #bits()} the kernels box. */
    public static int preferredBits() {
        return jdk.incubator.vector.FloatVector.SPECIES_PREFERRED.vectorBitSize();
    }
}
