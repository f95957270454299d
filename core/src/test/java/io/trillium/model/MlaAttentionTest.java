package io.trillium.model;

import io.trillium.backend.Ops;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * {@link Ops#mlaAttendHeads} (the CPU's MLA attention over the latent cache, decode and prefill) against float64
 * math, for head ranges and cache lengths that exercise every register tile and tail (4x2 and single scores in
 * Java, 6x4 / 3x3 and their edges in C; 4-, 2- and 1-head value sums), and each head's result the same bits as
 * that head computed alone: on the Java kernels and on each native variant this CPU runs.
 */
class MlaAttentionTest {

    static java.util.stream.Stream<String> paths() {
        return java.util.stream.Stream.concat(java.util.stream.Stream.of("java"),
                io.trillium.quant.NativeAttention.variants().stream().map(io.trillium.quant.NativeAttention::variant));
    }

    private static io.trillium.quant.NativeAttention kernels(String path) {
        return io.trillium.quant.NativeAttention.variants().stream().filter(k -> k.variant().equals(path)).findFirst()
                .orElse(null);
    }

    /** Where a native variant sums on as many lanes as the Java kernels, both give the same bits. */
    @Test
    void nativeGivesTheJavaBitsAtTheSameWidth() {
        var same = io.trillium.quant.NativeAttention.variants().stream()
                .filter(k -> k.lanes() == io.trillium.quant.VectorMath.lanes()).toList();
        org.junit.jupiter.api.Assumptions.assumeFalse(same.isEmpty(), "no native variant at the Java vector width "
                + io.trillium.quant.VectorMath.lanes() + " (" + io.trillium.quant.NativeAttention.variants() + ")");
        SplittableRandom rnd = new SplittableRandom(9);
        int kvLora = 512, width = 576, heads = 16;
        for (int npos : new int[] {1, 5, 130, 300}) {
            float[] q = new float[heads * width];
            float[] cache = new float[npos * width + 7];
            for (int i = 0; i < q.length; i++) {
                q[i] = (float) rnd.nextGaussian();
            }
            for (int i = 0; i < cache.length; i++) {
                cache[i] = (float) rnd.nextGaussian();
            }
            float[] att = new float[heads * npos], o = new float[heads * kvLora];
            Ops.mlaAttendHeads(null, q, 0, 0, heads, cache, 7, npos, width, kvLora, 0.07f, att, npos, o, 0);
            for (var k : same) {
                float[] attN = new float[heads * npos], oN = new float[heads * kvLora];
                Ops.mlaAttendHeads(k, q, 0, 0, heads, cache, 7, npos, width, kvLora, 0.07f, attN, npos, oN, 0);
                for (int i = 0; i < o.length; i++) {
                    assertEquals(Float.floatToRawIntBits(o[i]), Float.floatToRawIntBits(oN[i]),
                            k + ", " + npos + " positions: element " + i);
                }
            }
        }
    }

    @org.junit.jupiter.params.ParameterizedTest(name = "{0}")
    @org.junit.jupiter.params.provider.MethodSource("paths")
    void matchesFloat64AndEachHeadAlone(String path) {
        io.trillium.quant.NativeAttention kernels = kernels(path);
        SplittableRandom rnd = new SplittableRandom(5);
        int kvLora = 40, width = kvLora + 8;   // value rows of 40: 4-vector blocks at 256 bits plus scalar tails
        for (int heads : new int[] {1, 3, 4, 6, 9}) {
            for (int npos : new int[] {1, 2, 3, 7, 8, 13, 70, 131, 2100}) {   // past C's value blocks (128) and calls (2048)
                float scale = 0.15f;
                float[] q = new float[heads * width];
                float[] cache = new float[3 + npos * width];
                for (int i = 0; i < q.length; i++) {
                    q[i] = (float) rnd.nextGaussian();
                }
                for (int i = 0; i < cache.length; i++) {
                    cache[i] = (float) rnd.nextGaussian();
                }
                int attStride = npos + 2;
                float[] att = new float[heads * attStride];
                float[] o = new float[heads * kvLora];
                Ops.mlaAttendHeads(kernels, q, 0, 0, heads, cache, 3, npos, width, kvLora, scale, att, attStride, o, 0);
                for (int h = 0; h < heads; h++) {
                    double[] p = new double[npos];
                    double max = Double.NEGATIVE_INFINITY, sum = 0;
                    for (int t = 0; t < npos; t++) {
                        for (int i = 0; i < width; i++) {
                            p[t] += (double) q[h * width + i] * cache[3 + t * width + i];
                        }
                        p[t] *= scale;
                        max = Math.max(max, p[t]);
                    }
                    for (int t = 0; t < npos; t++) {
                        p[t] = Math.exp(p[t] - max);
                        sum += p[t];
                    }
                    for (int i = 0; i < kvLora; i++) {
                        double want = 0;
                        for (int t = 0; t < npos; t++) {
                            want += p[t] / sum * cache[3 + t * width + i];
                        }
                        assertEquals(want, o[h * kvLora + i], 1e-5, path + ": " + heads + " heads, " + npos + " positions, head " + h);
                    }
                    float[] alone = new float[heads * kvLora];
                    float[] attAlone = new float[heads * attStride];
                    Ops.mlaAttendHeads(kernels, q, 0, h, h + 1, cache, 3, npos, width, kvLora, scale, attAlone, attStride,
                            alone, 0);
                    for (int i = 0; i < kvLora; i++) {
                        assertEquals(Float.floatToRawIntBits(alone[h * kvLora + i]), Float.floatToRawIntBits(o[h * kvLora + i]),
                                heads + " heads, " + npos + " positions: head " + h + " alone differs at " + i);
                    }
                }
            }
        }
    }
}
