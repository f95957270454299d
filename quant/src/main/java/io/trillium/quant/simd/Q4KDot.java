package io.trillium.quant.simd;

import io.trillium.quant.DotKernel;
import io.trillium.quant.GgmlType;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;

import static io.trillium.quant.simd.KVec.*;
import static jdk.incubator.vector.VectorOperators.LSHR;

/**
 * Q4_K float route. With 16 lanes (AVX-512) the 16 possible values d*sc*q - dmin*m of a 32-element
 * sub-block are one vector (one FMA over the codes 0..15); each 16 nibbles widen to ints and pick
 * their values with a lane permute, then one FMA with x. That replaces int-to-float convert + dequant
 * FMA per 16 elements. With 8 lanes the table does not fit one vector, and the nibbles widen to floats
 * and are dequantized by one FMA (the same fma(q, d*sc, -dmin*m), so both widths give the same values).
 * The byte widening and permute, not memory, still bound it (see Q4KIntDot for the integer route).
 */
public final class Q4KDot implements DotKernel {
    public static final Q4KDot INSTANCE = new Q4KDot();

    private Q4KDot() {
    }

    @Override
    public GgmlType type() {
        return GgmlType.Q4_K;
    }

    /** 0, 1, ..., 15: the 4-bit codes, for building each sub-block's 16-entry table of dequantized values. */
    private static final FloatVector CODES = table(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);

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
        // two methods, each small enough that C2 inlines every Vector API call into it however the caller was
        // compiled (one method with both paths, recompiled inside a batched caller, left the 8-lane helpers
        // out of line and boxed: 16-33 MB per token in DecodeAllocationTest under -XX:UseAVX=2)
        return W == 16 ? table16(w, offset, x, xOffset, n) : convert(w, offset, x, xOffset, n);
    }

    /** 16 lanes: per sub-block the 16 values d*sc*q - dmin*m in one vector, picked by the nibbles (vpermd). */
    private static float table16(MemorySegment w, long offset, float[] x, int xOffset, int n) {
        FloatVector acc0 = FloatVector.zero(F), acc1 = FloatVector.zero(F);
        FloatVector acc2 = FloatVector.zero(F), acc3 = FloatVector.zero(F);
        for (int b = 0; b < n / 256; b++) {
            long o = offset + b * 144L;
            int xb = xOffset + b * 256;
            float d = f16(w, o), dmin = f16(w, o + 2);
            long s = w.get(I64, o + 4);
            int s8 = w.get(I32, o + 12);
            long scs = scales(s, s8), mns = mins(s, s8);
            for (int c = 0; c < 4; c++) {
                float d1 = d * ((int) (scs >>> (16 * c)) & 0xFF), m1 = dmin * ((int) (mns >>> (16 * c)) & 0xFF);
                float d2 = d * ((int) (scs >>> (16 * c + 8)) & 0xFF), m2 = dmin * ((int) (mns >>> (16 * c + 8)) & 0xFF);
                long q = o + 16 + 32 * c;
                int xc = xb + 64 * c;
                // selectFrom wraps indexes mod 16, so neither nibble needs a mask
                IntVector t1 = CODES.fma(d1, -m1).reinterpretAsInts();
                IntVector t2 = CODES.fma(d2, -m2).reinterpretAsInts();
                IntVector qa = (IntVector) ByteVector.fromMemorySegment(BW, w, q, LE)
                        .convertShape(VectorOperators.B2I, I, 0);
                IntVector qb = (IntVector) ByteVector.fromMemorySegment(BW, w, q + 16, LE)
                        .convertShape(VectorOperators.B2I, I, 0);
                acc0 = qa.selectFrom(t1).reinterpretAsFloats().fma(FloatVector.fromArray(F, x, xc), acc0);
                acc1 = qb.selectFrom(t1).reinterpretAsFloats().fma(FloatVector.fromArray(F, x, xc + 16), acc1);
                acc2 = qa.lanewise(LSHR, 4).selectFrom(t2).reinterpretAsFloats()
                        .fma(FloatVector.fromArray(F, x, xc + 32), acc2);
                acc3 = qb.lanewise(LSHR, 4).selectFrom(t2).reinterpretAsFloats()
                        .fma(FloatVector.fromArray(F, x, xc + 48), acc3);
            }
        }
        return acc0.add(acc1).add(acc2.add(acc3)).reduceLanes(VectorOperators.ADD);
    }

    /** 8 lanes: the table does not fit; W nibbles widen to floats and one FMA dequantizes them (same values). */
    private static float convert(MemorySegment w, long offset, float[] x, int xOffset, int n) {
        FloatVector acc0 = FloatVector.zero(F), acc1 = FloatVector.zero(F);
        for (int b = 0; b < n / 256; b++) {
            long o = offset + b * 144L;
            float d = f16(w, o), dmin = f16(w, o + 2);
            long s = w.get(I64, o + 4);
            int s8 = w.get(I32, o + 12);
            long scs = scales(s, s8), mns = mins(s, s8);
            // steps of (chunk c, slice p), as Q5KDot: a small body stays within C2's inlining node budget
            for (int it = 0; it < 4 * 32 / W; it++) {
                int c = it / (32 / W), p = (it % (32 / W)) * W;
                float d1 = d * ((int) (scs >>> (16 * c)) & 0xFF), m1 = dmin * ((int) (mns >>> (16 * c)) & 0xFF);
                float d2 = d * ((int) (scs >>> (16 * c + 8)) & 0xFF), m2 = dmin * ((int) (mns >>> (16 * c + 8)) & 0xFF);
                ByteVector q = ByteVector.fromMemorySegment(BW, w, o + 16 + 32 * c + p, LE);
                int xi = xOffset + b * 256 + 64 * c + p;
                acc0 = ((FloatVector) q.and((byte) 0x0F).convertShape(VectorOperators.B2F, F, 0)).fma(d1, -m1)
                        .fma(FloatVector.fromArray(F, x, xi), acc0);
                acc1 = ((FloatVector) q.reinterpretAsInts().lanewise(VectorOperators.LSHR, 4).and(M0F)
                        .reinterpretAsBytes().convertShape(VectorOperators.B2F, F, 0)).fma(d2, -m2)
                        .fma(FloatVector.fromArray(F, x, xi + 32), acc1);
            }
        }
        return acc0.add(acc1).reduceLanes(VectorOperators.ADD);
    }

    /**
     * The eight 6-bit scales of get_scale_min_k4 as the bytes of one long (sub-block j in byte j), from
     * the 12 scale bytes held as a LE long {@code s} (bytes 0..7) and int {@code s8} (bytes 8..11).
     */
    static long scales(long s, int s8) {
        int u0 = (int) s, u2 = s8;
        int lo = u0 & 0x3f3f3f3f;
        int hi = (u2 & 0x0f0f0f0f) | (((u0 >>> 6) & 0x03030303) << 4);
        return (lo & 0xFFFFFFFFL) | ((long) hi << 32);
    }

    /** The eight 6-bit mins, as {@link #scales}. */
    static long mins(long s, int s8) {
        int u1 = (int) (s >>> 32), u2 = s8;
        int lo = u1 & 0x3f3f3f3f;
        int hi = ((u2 >>> 4) & 0x0f0f0f0f) | (((u1 >>> 6) & 0x03030303) << 4);
        return (lo & 0xFFFFFFFFL) | ((long) hi << 32);
    }
}
