package io.trillium.quant.simd;

import io.trillium.quant.DotKernel;
import io.trillium.quant.GgmlType;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;

import static io.trillium.quant.simd.KVec.*;
import static jdk.incubator.vector.VectorOperators.ROL;
import static jdk.incubator.vector.VectorOperators.LSHR;

/**
 * Q3_K float route. qs (2 low bits) and hmask (third bit, set = no -4) widen to ints once per slice;
 * per 16-element sub-block the code c = low2 | hbit << 2 is assembled in int lanes and picks
 * d*(s-32)*(c-4) from an 8-value table (one multiply, repeated to W lanes) with a lane permute.
 */
public final class Q3KDot implements DotKernel {
    public static final Q3KDot INSTANCE = new Q3KDot();

    private static final FloatVector CODES = table(-4, -3, -2, -1, 0, 1, 2, 3, -4, -3, -2, -1, 0, 1, 2, 3);

    private Q3KDot() {
    }

    @Override
    public GgmlType type() {
        return GgmlType.Q3_K;
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
        FloatVector acc0 = FloatVector.zero(F), acc1 = FloatVector.zero(F);
        for (int b = 0; b < n / 256; b++) {
            long o = offset + b * 110L;
            float d = f16(w, o + 108);
            // unpack the 16 six-bit scales (ggml's kmask trick on three LE u32 words)
            int a0 = w.get(I32, o + 96), a1 = w.get(I32, o + 100), t = w.get(I32, o + 104);
            int sc0 = (a0 & 0x0f0f0f0f) | ((t & 0x03030303) << 4);
            int sc1 = (a1 & 0x0f0f0f0f) | (((t >>> 2) & 0x03030303) << 4);
            int sc2 = ((a0 >>> 4) & 0x0f0f0f0f) | (((t >>> 4) & 0x03030303) << 4);
            int sc3 = ((a1 >>> 4) & 0x0f0f0f0f) | (((t >>> 6) & 0x03030303) << 4);
            long scLo = (sc0 & 0xFFFFFFFFL) | ((long) sc1 << 32), scHi = (sc2 & 0xFFFFFFFFL) | ((long) sc3 << 32);
            // element 128h + 32j + l: bits 2j..2j+1 of qs[32h + l], bit 4h + j of hmask[l]; sub-block 8h + 2j + l/16
            for (int p = 0; p < 32; p += W) {
                IntVector hm = (IntVector) ByteVector.fromMemorySegment(BW, w, o + p, LE)
                        .convertShape(VectorOperators.B2I, I, 0);
                int sh = 8 * (p >> 4);
                for (int h = 0; h < 2; h++) {
                    IntVector q = (IntVector) ByteVector.fromMemorySegment(BW, w, o + 32 + 32 * h + p, LE)
                            .convertShape(VectorOperators.B2I, I, 0);
                    long sc = (h == 0 ? scLo : scHi) >>> sh;
                    int xh = xOffset + b * 256 + 128 * h + p;
                    for (int j = 0; j < 4; j += 2) {
                        int sa = ((int) (sc >>> (16 * j)) & 0xFF) - 32, sb = ((int) (sc >>> (16 * j + 16)) & 0xFF) - 32;
                        // bit 4h+j of hmask moves to bit 2 by a rotate (left by 2 - bit, mod 32)
                        int ra = (2 - (4 * h + j)) & 31, rb = (1 - (4 * h + j)) & 31;
                        IntVector ca = q.lanewise(LSHR, 2 * j).and(3).or(hm.lanewise(ROL, ra).and(4));
                        IntVector cb = q.lanewise(LSHR, 2 * j + 2).and(3).or(hm.lanewise(ROL, rb).and(4));
                        IntVector ta = CODES.mul(d * sa).reinterpretAsInts(), tb = CODES.mul(d * sb)
                                .reinterpretAsInts();
                        acc0 = ca.selectFrom(ta).reinterpretAsFloats()
                                .fma(FloatVector.fromArray(F, x, xh + 32 * j), acc0);
                        acc1 = cb.selectFrom(tb).reinterpretAsFloats()
                                .fma(FloatVector.fromArray(F, x, xh + 32 * j + 32), acc1);
                    }
                }
            }
        }
        return acc0.add(acc1).reduceLanes(VectorOperators.ADD);
    }
}
