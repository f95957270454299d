package io.trillium.backend;

import io.trillium.quant.GgmlType;
import io.trillium.quant.Numerics;
import io.trillium.quant.Tensor;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/**
 * {@link HostFallback}'s products of matrices the device refused: the float64 results of the weights,
 * per head and per token, the device's values between strided outputs untouched, and the device itself
 * never asked to compute them (the reference device rejects matrices it did not give out).
 */
class HostFallbackTest {
    private static final int N = 64;      // row length
    private static final int ROWS = 8;    // rows per head
    private static final int HEADS = 3;
    private static final float SENTINEL = 7.25f;

    @Test
    void refusedProductsGiveTheWeightsResultsAndKeepTheValuesBetweenOutputs() {
        Random r = new Random(3);
        float[] w = new float[HEADS * ROWS * N];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) r.nextGaussian();
        }
        MemorySegment data = Arena.ofAuto().allocate(4L * w.length, 64);
        MemorySegment.copy(w, 0, data, ValueLayout.JAVA_FLOAT_UNALIGNED, 0, w.length);
        Tensor t = new Tensor("w", GgmlType.F32, new long[] {N, (long) HEADS * ROWS}, data);
        try (CpuBackend cpu = new CpuBackend(2, Numerics.EXACT)) {
            HostDevice device = new HostDevice(cpu, x -> true);
            HostFallback f = new HostFallback(device, cpu);
            assertNull(f.matrix(t), "the device's own answer");
            Device.Mat m = f.onHost(t);
            assertEquals(java.util.List.of("w (F32)"), f.hostMatrices());

            // per head: head h reads x[h * xStride ..] and writes y[h * yStride ..], yStride > ROWS
            int xStride = N + 5, yStride = ROWS + 3;
            float[] x = random(r, HEADS * xStride);
            Device.Vec xv = f.vector("x", x.length);
            f.upload(x, 0, xv, 0, x.length);
            Device.Vec yv = filled(f, 2 + HEADS * yStride);
            f.matVec(m, ROWS, HEADS, (long) ROWS * N * 4, xv, 0, xStride, yv, 2, yStride);
            float[] y = new float[yv.floats()];
            f.download(yv, 0, y, 0, y.length);
            for (int h = 0; h < HEADS; h++) {
                for (int i = 0; i < yStride; i++) {
                    float got = y[2 + h * yStride + i];
                    if (i < ROWS) {
                        assertEquals(dot(w, (h * ROWS + i) * N, x, h * xStride), got, 1e-4, "head " + h + " row " + i);
                    } else {
                        assertEquals(SENTINEL, got, "head " + h + ": the value between outputs at " + i);
                    }
                }
            }
            assertEquals(SENTINEL, y[0]);
            assertEquals(SENTINEL, y[1]);

            // a batch of tokens through the whole matrix, outputs yStride2 apart
            int tokens = 3, rows = HEADS * ROWS, yStride2 = rows + 4;
            float[] xs = random(r, tokens * N);
            Device.Vec xsv = f.vector("xs", xs.length);
            f.upload(xs, 0, xsv, 0, xs.length);
            Device.Vec ysv = filled(f, tokens * yStride2);
            f.matMul(m, xsv, 0, N, ysv, 0, yStride2, tokens);
            float[] ys = new float[ysv.floats()];
            f.download(ysv, 0, ys, 0, ys.length);
            for (int k = 0; k < tokens; k++) {
                for (int i = 0; i < yStride2 && k * yStride2 + i < ys.length; i++) {
                    float got = ys[k * yStride2 + i];
                    if (i < rows) {
                        assertEquals(dot(w, i * N, xs, k * N), got, 1e-4, "token " + k + " row " + i);
                    } else {
                        assertEquals(SENTINEL, got, "token " + k + ": the value between outputs at " + i);
                    }
                }
            }
            assertEquals(0, device.matVecs + device.matMuls, "the device computed a refused matrix");
        }
    }

    private static float[] random(Random r, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) r.nextGaussian();
        }
        return v;
    }

    private static Device.Vec filled(Device d, int n) {
        float[] s = new float[n];
        java.util.Arrays.fill(s, SENTINEL);
        Device.Vec v = d.vector("y", n);
        d.upload(s, 0, v, 0, n);
        return v;
    }

    private static double dot(float[] w, int wOff, float[] x, int xOff) {
        double s = 0;
        for (int i = 0; i < N; i++) {
            s += (double) w[wOff + i] * x[xOff + i];
        }
        return s;
    }
}
