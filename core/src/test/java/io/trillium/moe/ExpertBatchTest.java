package io.trillium.moe;

import io.trillium.backend.CpuBackend;
import io.trillium.quant.GgmlType;
import io.trillium.quant.Kernels;
import io.trillium.quant.Numerics;
import io.trillium.quant.Tensor;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * A prompt's routed experts grouped by expert ({@link ExpertExecutor#runBatch}) give every token bit for bit
 * what the token-by-token step ({@link ExpertExecutor#run}) gives it: the batch a token is computed in never
 * changes its result (exact mode: within 1e-6, as the issue asks of float kernels). Mixed weight types (Q4_K gate/up through the row-interleaved kernels, Q8_0 and Q6_K
 * down), batches that span several chunks, and both numerics.
 */
class ExpertBatchTest {
    static final int HIDDEN = 512, FFN = 256, EXPERTS = 7, USED = 3;

    static Tensor quantized(String name, GgmlType type, int cols, int rows, Random r, Arena arena) {
        float[] v = new float[cols * rows];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) r.nextGaussian() * 0.05f;
        }
        long rowBytes = type.bytesFor(cols);
        MemorySegment data = arena.allocate(rowBytes * rows, 64);
        for (int row = 0; row < rows; row++) {
            Kernels.quantizer(type).quantize(v, row * cols, data, row * rowBytes, cols);
        }
        return new Tensor(name, type, new long[] {cols, rows}, data);
    }

    @ParameterizedTest
    @EnumSource(Numerics.class)
    void batchEqualsTokenByTokenBitForBit(Numerics numerics) {
        Random r = new Random(3);
        try (Arena arena = Arena.ofShared(); CpuBackend cpu = new CpuBackend(2, numerics)) {
            ExpertWeights[] ex = new ExpertWeights[EXPERTS];
            for (int e = 0; e < EXPERTS; e++) {
                ex[e] = new ExpertWeights(quantized("gate" + e, GgmlType.Q4_K, HIDDEN, FFN, r, arena),
                        quantized("up" + e, GgmlType.Q4_K, HIDDEN, FFN, r, arena),
                        quantized("down" + e, e % 2 == 0 ? GgmlType.Q8_0 : GgmlType.Q6_K, FFN, HIDDEN, r, arena));
            }
            ExpertSource source = (layer, e) -> ex[e];
            for (int tokens : new int[] {1, 5, ExpertExecutor.BATCH_CHUNK + 9}) {
                float[] h = new float[tokens * HIDDEN];
                float[] y = new float[tokens * HIDDEN];
                for (int i = 0; i < h.length; i++) {
                    h[i] = (float) r.nextGaussian();
                    y[i] = (float) r.nextGaussian();   // a residual the experts are added to
                }
                int[] ids = new int[tokens * USED];
                float[] weights = new float[tokens * USED];
                for (int t = 0; t < tokens; t++) {
                    int first = r.nextInt(EXPERTS);   // distinct experts per token, in a routing order of their own
                    for (int k = 0; k < USED; k++) {
                        ids[t * USED + k] = (first + 2 * k + t % 2) % EXPERTS;
                        weights[t * USED + k] = r.nextFloat();
                    }
                }
                float[] batch = y.clone();
                new ExpertExecutor(source, cpu, HIDDEN, FFN, USED).runBatch(0, h, tokens, ids, weights, USED, batch);
                ExpertExecutor single = new ExpertExecutor(source, cpu, HIDDEN, FFN, USED);
                for (int t = 0; t < tokens; t++) {
                    float[] ht = java.util.Arrays.copyOfRange(h, t * HIDDEN, (t + 1) * HIDDEN);
                    float[] yt = java.util.Arrays.copyOfRange(y, t * HIDDEN, (t + 1) * HIDDEN);
                    single.run(0, ht, java.util.Arrays.copyOfRange(ids, t * USED, (t + 1) * USED),
                            java.util.Arrays.copyOfRange(weights, t * USED, (t + 1) * USED), USED, yt);
                    for (int i = 0; i < HIDDEN; i++) {
                        String what = numerics + ", " + tokens + " tokens: token " + t + " element " + i + ": batch "
                                + batch[t * HIDDEN + i] + " vs alone " + yt[i];
                        if (numerics == Numerics.QUANTIZED) {
                            assertEquals(Float.floatToRawIntBits(yt[i]), Float.floatToRawIntBits(batch[t * HIDDEN + i]),
                                    what);
                        } else {   // float kernels: the Vector API's lane reductions may differ before and after C2
                            assertEquals(yt[i], batch[t * HIDDEN + i], 1e-6 * Math.max(1, Math.abs(yt[i])), what);
                        }
                    }
                }
            }
        }
    }
}
