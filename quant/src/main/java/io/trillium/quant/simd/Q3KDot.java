package io.trillium.quant.simd;

import io.trillium.quant.DotKernel;
import io.trillium.quant.GgmlType;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;

import static io.trillium.quant.simd.KVec.*;
import static jdk.incubator.vector.VectorOperators.LSHL;
import static jdk.incubator.vector.VectorOperators.LSHR;

/**
 * Q3_K float route: like Q2_K (four 16-element sub-blocks per 16 bytes of qs), the third bit comes from
 * hmask (bit 4h+j of hmask[l]; clear means -4); one multiply by d*(s-32) and one FMA per sub-block.
 */
public final class Q3KDot implements DotKernel {
    public static final Q3KDot INSTANCE = new Q3KDot();

    private Q3KDot() {
    }

    @Override
    public GgmlType type() {
        return GgmlType.Q3_K;
    }

    @Override
    public float dot(MemorySegment w, long offset, float[] x, int xOffset, int n) {
        FloatVector acc0 = FloatVector.zero(F), acc1 = FloatVector.zero(F);
        ByteVector hma, hmb;
        for (int b = 0; b < n / 256; b++) {
            long o = offset + b * 110L;
            float d = f16(w, o + 108);
            // unpack the 16 six-bit scales (ggml's kmask trick on three LE u32 words)
            int a0 = w.get(I32, o + 96), a1 = w.get(I32, o + 100), t = w.get(I32, o + 104);
            int sc0 = (a0 & 0x0f0f0f0f) | ((t & 0x03030303) << 4);
            int sc1 = (a1 & 0x0f0f0f0f) | (((t >>> 2) & 0x03030303) << 4);
            int sc2 = ((a0 >>> 4) & 0x0f0f0f0f) | (((t >>> 4) & 0x03030303) << 4);
            int sc3 = ((a1 >>> 4) & 0x0f0f0f0f) | (((t >>> 6) & 0x03030303) << 4);
            hma = b16(w, o);
            hmb = b16(w, o + 16);
            for (int h = 0; h < 2; h++) {
                ByteVector qa = b16(w, o + 32 + 32 * h), qb = b16(w, o + 32 + 32 * h + 16);
                int lo = h == 0 ? sc0 : sc2, hi = h == 0 ? sc1 : sc3;
                int xh = xOffset + b * 256 + 128 * h;
                for (int j = 0; j < 4; j++) {
                    int word = j < 2 ? lo : hi;
                    int sa = ((word >>> (16 * (j & 1))) & 0xFF) - 32, sb = ((word >>> (16 * (j & 1) + 8)) & 0xFF) - 32;
                    int bit = 4 * h + j;
                    // q = low2 + 4*hbit - 4
                    ByteVector va = qa.lanewise(LSHR, 2 * j).and((byte) 3)
                            .or(hma.lanewise(LSHR, bit).and((byte) 1).lanewise(LSHL, 2)).sub((byte) 4);
                    ByteVector vb = qb.lanewise(LSHR, 2 * j).and((byte) 3)
                            .or(hmb.lanewise(LSHR, bit).and((byte) 1).lanewise(LSHL, 2)).sub((byte) 4);
                    acc0 = toFloat(va).mul(d * sa).fma(x(x, xh + 32 * j), acc0);
                    acc1 = toFloat(vb).mul(d * sb).fma(x(x, xh + 32 * j + 16), acc1);
                }
            }
        }
        return acc0.add(acc1).reduceLanes(VectorOperators.ADD);
    }
}
