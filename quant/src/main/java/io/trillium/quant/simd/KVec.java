package io.trillium.quant.simd;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Shapes and little-endian reads shared by the 256-block (K-quant) kernels. Everything works on
 * 16 lanes: 16 bytes of quants widen to one 512-bit float (or int) vector. The shapes are fixed at
 * 512 bits (AVX-512); on narrower hardware C2 would not intrinsify them and a 256-bit variant is needed.
 */
final class KVec {
    private KVec() {
    }

    static final VectorSpecies<Float> F = FloatVector.SPECIES_512;
    static final VectorSpecies<Byte> B16 = ByteVector.SPECIES_128;
    static final VectorSpecies<Integer> I16 = IntVector.SPECIES_512;
    static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(LE);
    static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(LE);
    // layouts must be constants: a layout built in the loop costs a var-handle lookup per access
    static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(LE);
    static final ValueLayout.OfLong I64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(LE);

    /** Byte masks replicated over a long, for bit fiddling on the 64-bit view of byte vectors. */
    static final long M0F = 0x0F0F0F0F0F0F0F0FL, M30 = 0x3030303030303030L;

    /** (v >>> n) & mask per byte, computed on the 64-bit view (mask must drop bits shifted in from the next byte). */
    static ByteVector shr(ByteVector v, int n, long mask) {
        return v.reinterpretAsLongs().lanewise(jdk.incubator.vector.VectorOperators.LSHR, n).and(mask).reinterpretAsBytes();
    }

    /** (v << n) & mask per byte, on the 64-bit view. */
    static ByteVector shl(ByteVector v, int n, long mask) {
        return v.reinterpretAsLongs().lanewise(jdk.incubator.vector.VectorOperators.LSHL, n).and(mask).reinterpretAsBytes();
    }

    static float f16(MemorySegment s, long o) {
        return Float.float16ToFloat(s.get(U16, o));
    }

    static int u8(MemorySegment s, long o) {
        return s.get(ValueLayout.JAVA_BYTE, o) & 0xFF;
    }

    static ByteVector b16(MemorySegment s, long o) {
        return ByteVector.fromMemorySegment(B16, s, o, LE);
    }

    /** 16 byte lanes (signed) to 16 floats. */
    static FloatVector toFloat(ByteVector v) {
        return (FloatVector) v.convertShape(jdk.incubator.vector.VectorOperators.B2F, F, 0);
    }

    static FloatVector x(float[] x, int i) {
        return FloatVector.fromArray(F, x, i);
    }
}
