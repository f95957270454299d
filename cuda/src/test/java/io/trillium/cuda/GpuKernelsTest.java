package io.trillium.cuda;

import io.trillium.backend.Ops;
import io.trillium.quant.GgmlType;
import io.trillium.quant.Kernels;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Each kernel against the CPU code it mirrors (quant's scalar kernels, core's Ops and attention): on
 * the host emulator of the kernels always, and on the CUDA device too when one is present.
 */
class GpuKernelsTest {
    static final List<Gpu> opened = new ArrayList<>();

    /** The emulator, and the real device where the probe finds one. */
    static List<Gpu> gpus() {
        if (opened.isEmpty()) {
            opened.add(new EmulatedGpu(1L << 30));
            if (CudaSupport.probe().available()) {
                opened.add(new JCudaGpu(0));
            } else {
                System.out.println("GPU part skipped, emulator only: " + CudaSupport.probe().reason());
            }
        }
        return opened;
    }

    @AfterAll
    static void stop() {
        opened.forEach(Gpu::close);
        opened.clear();
    }

    static long dev(Gpu g, float[] v) {
        MemorySegment m = Arena.ofAuto().allocate(Math.max(4L, 4L * v.length), 64);
        MemorySegment.copy(v, 0, m, ValueLayout.JAVA_FLOAT_UNALIGNED, 0, v.length);
        return dev(g, m);
    }

    static long dev(Gpu g, MemorySegment m) {
        long p = g.alloc(m.byteSize());
        g.copyToDevice(p, m, m.byteSize(), 0);
        return p;
    }

    static float[] host(Gpu g, long p, int n) {
        g.awaitStream(0);
        MemorySegment m = Arena.ofAuto().allocate(4L * n, 64);
        g.copyToHost(m, p, 4L * n, 0);
        return m.toArray(ValueLayout.JAVA_FLOAT);
    }

    static float[] random(Random r, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) r.nextGaussian();
        }
        return v;
    }

    /** The model's attention loop (DeepseekModel.attend): softmax of the scores, then the weighted sum of c. */
    static float[] hostAttention(float[] q, float[] cache, int heads, int kvLora, int rope, int npos, float scale) {
        int width = kvLora + rope;
        float[] out = new float[heads * kvLora];
        for (int h = 0; h < heads; h++) {
            float[] att = new float[npos];
            for (int t = 0; t < npos; t++) {
                att[t] = Ops.dot(q, h * width, cache, t * width, width) * scale;
            }
            Ops.softmax(att, 0, npos);
            for (int t = 0; t < npos; t++) {
                for (int i = 0; i < kvLora; i++) {
                    out[h * kvLora + i] += att[t] * cache[t * width + i];
                }
            }
        }
        return out;
    }

    static void close(float[] want, float[] got, double tol) {
        assertTrue(GpuCheck.relL2(want, got) <= tol, () -> "rel-L2 " + GpuCheck.relL2(want, got));
    }

    @ParameterizedTest
    @MethodSource("gpus")
    void matVecEveryTypeMatchesTheScalarKernel(Gpu g) throws java.io.IOException {
        CudaKernels k = new CudaKernels(g);
        Random r = new Random(1);
        // ggml's own blocks of every type (type-zoo.gguf: one 256 x 256 tensor per type), 37 rows of each
        try (io.trillium.gguf.GgufFile zoo = io.trillium.gguf.GgufFile.open(
                io.trillium.fixtures.Fixtures.models().resolve("type-zoo.gguf"))) {
            for (GgmlType t : CudaKernels.MATVEC.keySet()) {
                io.trillium.quant.Tensor w = zoo.tensor(t.name() + ".weight");
                int n = Math.toIntExact(w.rowLength()), rows = 37;
                long rowBytes = w.rowBytes();
                float[] x = random(r, n);
                float[] want = new float[rows];
                Kernels.scalar(t).matVec(w.data(), 0, rowBytes, x, n, want, 0, rows);
                long y = dev(g, new float[rows]);
                k.matVec(t, dev(g, w.data().asSlice(0, rows * rowBytes)), rowBytes, dev(g, x), y, n, rows, 0);
                float[] got = host(g, y, rows);
                close(want, got, 1e-5);
            }
        }
    }

    @ParameterizedTest
    @MethodSource("gpus")
    void rmsnormSwigluAxpy(Gpu g) {
        CudaKernels k = new CudaKernels(g);
        Random r = new Random(2);
        int n = 1000;
        float[] x = random(r, n), w = random(r, n), want = new float[n];
        Ops.rmsnorm(want, 0, x, 0, w, n, 1e-6f);
        long out = dev(g, new float[n]);
        k.rmsnorm(out, dev(g, x), dev(g, w), n, 1, n, 1e-6f, 0);
        close(want, host(g, out, n), 1e-6);

        float[] gate = random(r, n), u = random(r, n), g2 = gate.clone();
        Ops.swiglu(g2, u, n);
        long dg = dev(g, gate);
        k.swiglu(dg, dev(g, u), n, 0);
        close(g2, host(g, dg, n), 1e-6);

        float[] y = random(r, n), y2 = y.clone();
        Ops.axpy(y2, 0.5f, x, n);
        long dy = dev(g, y);
        k.axpy(dy, 0.5f, dev(g, x), n, 0);
        close(y2, host(g, dy, n), 1e-7);
    }

    @ParameterizedTest
    @MethodSource("gpus")
    void ropeNormAndNeox(Gpu g) {
        CudaKernels k = new CudaKernels(g);
        Random r = new Random(3);
        int dims = 64, heads = 5, stride = 192, offset = 128;
        float[] cos = new float[dims / 2], sin = new float[dims / 2], cs = new float[dims];
        for (int i = 0; i < dims / 2; i++) {
            double th = 17 * Math.pow(10000, -2.0 * i / dims);
            cs[i] = cos[i] = (float) Math.cos(th);
            cs[dims / 2 + i] = sin[i] = (float) Math.sin(th);
        }
        for (boolean neox : new boolean[] {false, true}) {
            float[] x = random(r, heads * stride), want = x.clone();
            for (int h = 0; h < heads; h++) {
                int off = h * stride + offset, half = dims / 2;
                for (int i = 0; i < half; i++) {
                    int a = neox ? i : 2 * i, b = neox ? i + half : 2 * i + 1;
                    float x0 = want[off + a], x1 = want[off + b];
                    want[off + a] = x0 * cos[i] - x1 * sin[i];
                    want[off + b] = x0 * sin[i] + x1 * cos[i];
                }
            }
            long dx = dev(g, x);
            k.rope(dx, heads, stride, offset, dev(g, cs), dims, neox, 0);
            close(want, host(g, dx, x.length), 1e-6);
        }
    }

    @ParameterizedTest
    @MethodSource("gpus")
    void mlaAttentionMatchesTheHostLoop(Gpu g) {
        CudaKernels k = new CudaKernels(g);
        Random r = new Random(4);
        int heads = 4, kvLora = 64, rope = 16, width = kvLora + rope, npos = 37, cap = 64;
        float scale = 0.1f;
        float[] q = random(r, heads * width), cache = random(r, cap * width);
        float[] want = hostAttention(q, cache, heads, kvLora, rope, npos, scale);
        long o = dev(g, new float[heads * kvLora]);
        k.mlaAttend(dev(g, q), dev(g, cache), dev(g, new float[heads * cap]), o, heads, kvLora, rope, npos, cap, scale, 0);
        close(want, host(g, o, heads * kvLora), 1e-5);
    }

    @ParameterizedTest
    @MethodSource("gpus")
    void matVecOverHeadsTakesEachHeadsRowsAndStrides(Gpu g) {
        CudaKernels k = new CudaKernels(g);
        Random r = new Random(6);
        int n = 256, rows = 19, heads = 5, rowsPerStack = 24, xStride = 300, yStride = 40;
        for (GgmlType t : new GgmlType[] {GgmlType.F32, GgmlType.Q8_0, GgmlType.Q4_K, GgmlType.Q6_K}) {
            long rowBytes = t.bytesFor(n);
            long headBytes = rowsPerStack * rowBytes;   // heads further apart than their rows (a strided view)
            float[] w = random(r, n * rowsPerStack * heads);
            MemorySegment q = Arena.ofAuto().allocate(headBytes * heads, 64);
            for (int row = 0; row < rowsPerStack * heads; row++) {
                Kernels.quantizer(t).quantize(w, row * n, q, row * rowBytes, n);
            }
            float[] x = random(r, xStride * heads);
            float[] want = new float[yStride * heads];
            for (int h = 0; h < heads; h++) {
                float[] xh = java.util.Arrays.copyOfRange(x, h * xStride, h * xStride + n);
                float[] yh = new float[rows];
                Kernels.scalar(t).matVec(q, h * headBytes, rowBytes, xh, n, yh, 0, rows);
                System.arraycopy(yh, 0, want, h * yStride, rows);
            }
            long y = dev(g, new float[yStride * heads]);
            k.matVec(t, dev(g, q), rowBytes, rows, heads, headBytes, dev(g, x), xStride, y, yStride, n, 0);
            float[] got = host(g, y, yStride * heads);
            close(want, got, 1e-5);
            for (int h = 0; h < heads; h++) {
                for (int i = rows; i < yStride; i++) {
                    assertEquals(0f, got[h * yStride + i], t + ": head " + h + " wrote past its rows");
                }
            }
        }
    }

    @ParameterizedTest
    @MethodSource("gpus")
    void stridedCopy(Gpu g) {
        CudaKernels k = new CudaKernels(g);
        Random r = new Random(7);
        int n = 37, count = 6, srcStride = 50, dstStride = 64;
        float[] src = random(r, srcStride * count);
        float[] want = new float[dstStride * count];
        for (int c = 0; c < count; c++) {
            System.arraycopy(src, c * srcStride + 3, want, c * dstStride + 5, n);
        }
        long dst = dev(g, new float[dstStride * count]);
        long ds = dev(g, src);
        k.copy(dst + 5 * 4, dstStride, ds + 3 * 4, srcStride, n, count, 0);
        assertArrayEquals(want, host(g, dst, dstStride * count));
    }

    @ParameterizedTest
    @MethodSource("gpus")
    void dequantRowsOfEveryTypeAndTheBatchedProduct(Gpu g) throws java.io.IOException {
        CudaKernels k = new CudaKernels(g);
        Random r = new Random(8);
        try (io.trillium.gguf.GgufFile zoo = io.trillium.gguf.GgufFile.open(
                io.trillium.fixtures.Fixtures.models().resolve("type-zoo.gguf"))) {
            for (GgmlType t : CudaKernels.MATVEC.keySet()) {
                io.trillium.quant.Tensor w = zoo.tensor(t.name() + ".weight");
                int n = Math.toIntExact(w.rowLength()), rows = 21, tokens = 19, xStride = n + 3, yStride = rows + 2;
                float[] want = new float[rows * n];
                w.dequantizeRows(0, rows, want, 0);   // ggml's values (checked against ggml by quant's tests)
                long scratch = dev(g, new float[rows * n]);
                k.dequantRows(t, dev(g, w.data().asSlice(0, rows * w.rowBytes())), w.rowBytes(), scratch, n, rows, 0);
                assertArrayEquals(want, host(g, scratch, rows * n), 0f, t + " dequantized");

                float[] x = random(r, tokens * xStride);
                double[] exact = new double[tokens * yStride];
                float[] got0 = new float[tokens * yStride];
                for (int tk = 0; tk < tokens; tk++) {
                    for (int row = 0; row < rows; row++) {
                        double sum = 0;
                        for (int i = 0; i < n; i++) {
                            sum += (double) want[row * n + i] * x[tk * xStride + i];
                        }
                        exact[tk * yStride + row] = sum;
                    }
                }
                long y = dev(g, got0);
                k.gemm(scratch, n, rows, dev(g, x), xStride, y, yStride, tokens, 0);
                float[] got = host(g, y, tokens * yStride);
                float[] wantY = new float[exact.length];
                for (int i = 0; i < exact.length; i++) {
                    wantY[i] = (float) exact[i];
                }
                close(wantY, got, 1e-5);
                for (int tk = 0; tk < tokens; tk++) {
                    assertEquals(0f, got[tk * yStride + rows], "gemm wrote outside its rows");
                }
            }
        }
    }

    @ParameterizedTest
    @MethodSource("gpus")
    void splitAttentionMatchesTheHostLoop(Gpu g) {
        CudaKernels k = new CudaKernels(g);
        Random r = new Random(9);
        int heads = 3, kvLora = 64, rope = 16, width = kvLora + rope;
        float scale = 0.2f;
        for (int[] c : new int[][] {{37, 4}, {1500, CudaKernels.attentionSplits(1500)}, {300, 7}}) {
            int npos = c[0], splits = c[1];
            float[] q = random(r, heads * width), cache = random(r, npos * width);
            float[] want = hostAttention(q, cache, heads, kvLora, rope, npos, scale);
            long parts = (long) heads * splits;
            long scratch = dev(g, new float[(int) (parts * (kvLora + 2))]);
            long o = dev(g, new float[heads * kvLora]);
            k.mlaAttendSplit(dev(g, q), dev(g, cache), scratch, scratch + parts * 4, scratch + parts * 8, o, heads,
                    kvLora, rope, npos, splits, scale, 0);
            close(want, host(g, o, heads * kvLora), 1e-5);
        }
        assertEquals(32, CudaKernels.attentionSplits(131072 / 2));
        assertTrue((262144 + CudaKernels.attentionSplits(262144) - 1) / CudaKernels.attentionSplits(262144) <= 8192,
                "a chunk's scores fit in 32 KiB of shared memory");
    }
}
