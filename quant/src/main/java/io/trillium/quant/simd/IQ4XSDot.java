package io.trillium.quant.simd;

import io.trillium.quant.DotKernel;
import io.trillium.quant.GgmlType;
import io.trillium.quant.block.IQ4XSBlock;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;

import static io.trillium.quant.simd.KVec.*;
import static jdk.incubator.vector.VectorOperators.LSHR;

/**
 * IQ4_XS float route. With 16 lanes: per 32-element sub-block the 16 values d*(ls-32)*kvalues[q] are
 * one vector (one multiply); each 16 nibbles widen to ints and pick their values with a lane permute
 * (selectFrom wraps indexes mod 16, so the low nibble needs no mask), then one FMA with x. With 8
 * lanes the 16-entry table does not fit: the nibbles pick kvalues as bytes (vpshufb), which widen to
 * floats in two parts and are scaled by one multiply (the same kv * dl, so both widths agree).
 */
public final class IQ4XSDot implements DotKernel {
    public static final IQ4XSDot INSTANCE = new IQ4XSDot();

    private static final FloatVector KV = kvalues();
    private static final ByteVector KV_BYTES = ByteVector.fromArray(B16, IQ4XSBlock.KVALUES, 0);

    private IQ4XSDot() {
    }

    private static FloatVector kvalues() {
        float[] k = new float[16];
        for (int i = 0; i < 16; i++) {
            k[i] = IQ4XSBlock.KVALUES[i];
        }
        return table(k);
    }

    /** Sub-block {@code ib}'s 6-bit scale: low 4 bits from scales_l (LE int {@code sl}), top 2 from scales_h. */
    private static int scale(int sl, int sh, int ib) {
        return ((sl >>> (4 * ib)) & 0xF) | (((sh >>> (2 * ib)) & 3) << 4);
    }

    @Override
    public GgmlType type() {
        return GgmlType.IQ4_XS;
    }

    /** Rows one by one through this class's dot (the interface default's call site is shared by every kernel). */
    @Override
    public void matVec(MemorySegment w, long offset, long rowStride, float[] x, int n,
                       float[] y, int rowStart, int rowEnd) {
        for (int r = rowStart; r < rowEnd; r++) {
            y[r] = dot(w, offset + r * rowStride, x, 0, n);
        }
    }

    @Override
    public float dot(MemorySegment w, long offset, float[] x, int xOffset, int n) {
        // one small method per width, so that C2 inlines every Vector API call whatever the caller (see Q4KDot)
        return W == 16 ? table16(w, offset, x, xOffset, n) : bytes8(w, offset, x, xOffset, n);
    }

    private static float table16(MemorySegment w, long offset, float[] x, int xOffset, int n) {
        FloatVector acc0 = FloatVector.zero(F), acc1 = FloatVector.zero(F);
        for (int b = 0; b < n / 256; b++) {
            long o = offset + b * 136L;
            float d = f16(w, o);
            int sh = w.get(U16, o + 2) & 0xFFFF;
            int sl = w.get(I32, o + 4);
            for (int ib = 0; ib < 8; ib++) {
                int ls = scale(sl, sh, ib);
                IntVector t = KV.mul(d * (ls - 32)).reinterpretAsInts();
                IntVector q = (IntVector) ByteVector.fromMemorySegment(BW, w, o + 8 + 16 * ib, LE)
                        .convertShape(VectorOperators.B2I, I, 0);
                int xi = xOffset + b * 256 + 32 * ib;
                acc0 = q.selectFrom(t).reinterpretAsFloats().fma(FloatVector.fromArray(F, x, xi), acc0);
                acc1 = q.lanewise(LSHR, 4).selectFrom(t).reinterpretAsFloats()
                        .fma(FloatVector.fromArray(F, x, xi + 16), acc1);
            }
        }
        return acc0.add(acc1).reduceLanes(VectorOperators.ADD);
    }

    /** 8 lanes: the nibbles pick kvalues as bytes (vpshufb); one half of a 16-byte run per step. */
    private static float bytes8(MemorySegment w, long offset, float[] x, int xOffset, int n) {
        FloatVector acc0 = FloatVector.zero(F), acc1 = FloatVector.zero(F);
        for (int b = 0; b < n / 256; b++) {
            long o = offset + b * 136L;
            float d = f16(w, o);
            int sh = w.get(U16, o + 2) & 0xFFFF;
            int sl = w.get(I32, o + 4);
            for (int ib = 0; ib < 8; ib++) {
                int ls = scale(sl, sh, ib);
                float dl = d * (ls - 32);
                int xi = xOffset + b * 256 + 32 * ib;
                ByteVector q = ByteVector.fromMemorySegment(B16, w, o + 8 + 16 * ib, LE);
                ByteVector lo = q.and((byte) 0x0F).selectFrom(KV_BYTES);
                ByteVector hi = q.reinterpretAsInts().lanewise(VectorOperators.LSHR, 4).and(M0F).reinterpretAsBytes()
                        .selectFrom(KV_BYTES);
                // the part index of a conversion must be a constant: parts 0 and 1 written out
                acc0 = ((FloatVector) lo.convertShape(VectorOperators.B2F, F, 0)).mul(dl)
                        .fma(FloatVector.fromArray(F, x, xi), acc0);
                acc1 = ((FloatVector) hi.convertShape(VectorOperators.B2F, F, 0)).mul(dl)
                        .fma(FloatVector.fromArray(F, x, xi + 16), acc1);
                acc0 = ((FloatVector) lo.convertShape(VectorOperators.B2F, F, 1)).mul(dl)
                        .fma(FloatVector.fromArray(F, x, xi + 8), acc0);
                acc1 = ((FloatVector) hi.convertShape(VectorOperators.B2F, F, 1)).mul(dl)
                        .fma(FloatVector.fromArray(F, x, xi + 24), acc1);
            }
        }
        return acc0.add(acc1).reduceLanes(VectorOperators.ADD);
    }
}
