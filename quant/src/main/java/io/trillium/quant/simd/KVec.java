package io.trillium.quant.simd;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Shapes and little-endian reads shared by the 256-block (K-quant) kernels, for any vector width.
 *
 * <p>A float (or int) vector holds {@link #W} lanes: 16 with AVX-512, 8 otherwise, chosen once here
 * from the preferred species (a 128-bit machine gets the 256-bit species: correct, not fast). The
 * kernels walk a block in <em>slices</em> of W elements: W bytes of quants ({@link #BW}) widen to one
 * float or int vector. Loops over slices run {@code 16 / W} or {@code 32 / W} times; W is a
 * {@code static final}, so C2 folds those counts and every {@code W == 16} branch at parse time, and
 * the dead branch costs nothing (not even inlining budget).
 *
 * <p>C2's rules (see {@link Block32Simd} for the first two): no method of ours takes or returns a
 * vector; kernels small enough to compile; conversions with constant part numbers; no shifts on byte
 * lanes (x86 has none; the bit fiddling runs on the int view with byte masks:
 * {@code v.reinterpretAsInts().lanewise(LSHR, 4).and(M0F).reinterpretAsBytes()}); no 1-lane long
 * vectors (a 64-bit slice as longs is not intrinsified, as ints it is). Only scalar helpers live here
 * (and {@link #table}, run once in static initialisers).
 */
final class KVec {
    private KVec() {
    }

    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED.vectorBitSize() >= 512
            ? FloatVector.SPECIES_512 : FloatVector.SPECIES_256;
    /** Lanes of a float/int vector: elements per slice. */
    static final int W = F.length();
    static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, F.vectorShape());
    /** W bytes: one slice of quants, widens to one float or int vector. */
    static final VectorSpecies<Byte> BW = VectorSpecies.of(byte.class, VectorShape.forBitSize(W * 8));
    /** W bytes as ints: a slice loaded for bit fiddling on the 32-bit view. */
    static final VectorSpecies<Integer> IW = VectorSpecies.of(int.class, VectorShape.forBitSize(W * 8));
    /** 16 bytes, for byte-table lookups (vpshufb) that need all 16 entries whatever W is. */
    static final VectorSpecies<Byte> B16 = ByteVector.SPECIES_128;
    static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(LE);
    static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(LE);
    // layouts must be constants: a layout built in the loop costs a var-handle lookup per access
    static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(LE);
    static final ValueLayout.OfLong I64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(LE);

    /** Byte masks replicated over an int, for bit fiddling on the 32-bit view of byte vectors. */
    static final int M0F = 0x0F0F0F0F, M30 = 0x30303030, M10 = 0x10101010;



    static float f16(MemorySegment s, long o) {
        return Float.float16ToFloat(s.get(U16, o));
    }

    static int u8(MemorySegment s, long o) {
        return s.get(ValueLayout.JAVA_BYTE, o) & 0xFF;
    }






    /** The first W of {@code values} (a table of 16 entries, periodic where W = 8 must see all of it). */
    static FloatVector table(float... values) {
        return FloatVector.fromArray(F, values, 0);
    }
}
