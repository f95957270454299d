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
 * Q3_K float route. qs (2 low bits) and hmask (third bit, set = no -4) widen to ints once per half;
 * per 16-element sub-block the code c = low2 | hbit << 2 is assembled in int lanes and picks
 * d*(s-32)*(c-4) from an 8-value table (one multiply, repeated to 16 lanes) with a lane permute.
 */
public final class Q3KDot implements DotKernel {
    public static final Q3KDot INSTANCE = new Q3KDot();

    private static final FloatVector CODES = FloatVector.fromArray(F,
            new float[] {-4, -3, -2, -1, 0, 1, 2, 3, -4, -3, -2, -1, 0, 1, 2, 3}, 0);

    private Q3KDot() {
    }

    @Override
    public GgmlType type() {
        return GgmlType.Q3_K;
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
            IntVector hma = wide(b16(w, o)), hmb = wide(b16(w, o + 16));
            for (int h = 0; h < 2; h++) {
                IntVector qa = wide(b16(w, o + 32 + 32 * h)), qb = wide(b16(w, o + 48 + 32 * h));
                long sc = h == 0 ? scLo : scHi;
                int xh = xOffset + b * 256 + 128 * h;
                for (int j = 0; j < 4; j++) {
                    int sa = ((int) (sc >>> (16 * j)) & 0xFF) - 32, sb = ((int) (sc >>> (16 * j + 8)) & 0xFF) - 32;
                    // bit 4h+j of hmask moves to bit 2 by a rotate (left by 2 - bit, mod 32)
                    int rot = (2 - (4 * h + j)) & 31;
                    IntVector ca = qa.lanewise(LSHR, 2 * j).and(3).or(hma.lanewise(ROL, rot).and(4));
                    IntVector cb = qb.lanewise(LSHR, 2 * j).and(3).or(hmb.lanewise(ROL, rot).and(4));
                    IntVector ta = CODES.mul(d * sa).reinterpretAsInts(), tb = CODES.mul(d * sb).reinterpretAsInts();
                    acc0 = ca.selectFrom(ta).reinterpretAsFloats().fma(x(x, xh + 32 * j), acc0);
                    acc1 = cb.selectFrom(tb).reinterpretAsFloats().fma(x(x, xh + 32 * j + 16), acc1);
                }
            }
        }
        return acc0.add(acc1).reduceLanes(VectorOperators.ADD);
    }

    private static IntVector wide(ByteVector v) {
        return (IntVector) v.convertShape(VectorOperators.B2I, I16, 0);
    }
}
