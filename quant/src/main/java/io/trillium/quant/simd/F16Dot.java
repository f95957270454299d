package io.trillium.quant.simd;

import io.trillium.quant.DotKernel;
import io.trillium.quant.GgmlType;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;

import static io.trillium.quant.simd.Block32Simd.*;

/** F16 rows. The Vector API has no fp16 conversion, so decode the bits with integer ops. */
public final class F16Dot implements DotKernel {
    public static final F16Dot INSTANCE = new F16Dot();

    private F16Dot() {
    }

    @Override
    public GgmlType type() {
        return GgmlType.F16;
    }

    @Override
    public float dot(MemorySegment w, long offset, float[] x, int xOffset, int n) {
        return dotRow(w, offset, x, xOffset, n);
    }

    /** Rows one by one through the statically bound dotRow, whatever the profile of the interface default. */
    @Override
    public void matVec(MemorySegment w, long offset, long rowStride, float[] x, int n,
                       float[] y, int rowStart, int rowEnd) {
        for (int r = rowStart; r < rowEnd; r++) {
            y[r] = dotRow(w, offset + r * rowStride, x, 0, n);
        }
    }

    private static float dotRow(MemorySegment w, long offset, float[] x, int xOffset, int n) {
        FloatVector acc0 = FloatVector.zero(F);
        FloatVector acc1 = FloatVector.zero(F);
        int i = 0;
        // one vector per step into two accumulators in turn (even steps sum into one, odd into the other):
        // the loop body decodes one vector, written out once (a helper taking vectors boxes them wherever
        // C2 leaves it out of line)
        for (; i + L <= n; i += L) {
            // L fp16 values as floats, exactly: the sign-extended half shifted left by 13 has sign, exponent
            // and mantissa in float position (the mask drops the smeared sign copies); times 2^(127-15) that is
            // the value, exact for normals and subnormals. Exponent 31 (inf/NaN) comes out at 2^16 or more,
            // where no finite fp16 lands: those lanes are patched to exponent 255
            IntVector h = (IntVector) ShortVector.fromMemorySegment(S, w, offset + (long) i * 2, LE)
                    .convertShape(VectorOperators.S2I, I, 0);
            IntVector bits = h.lanewise(VectorOperators.LSHL, 13).and(0x8FFFE000);
            FloatVector f = bits.reinterpretAsFloats().mul(TWO_112);
            f = f.blend(bits.or(0x7F800000).reinterpretAsFloats(), f.abs().compare(VectorOperators.GE, 65536f));
            FloatVector t = f.fma(FloatVector.fromArray(F, x, xOffset + i), acc0);
            acc0 = acc1;
            acc1 = t;
        }
        float sum = acc0.add(acc1).reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) {
            sum += f16(w, offset + (long) i * 2) * x[xOffset + i];
        }
        return sum;
    }

    private static final float TWO_112 = 0x1p112f;

}
