package io.trillium.cuda;

import io.trillium.model.Ops;
import io.trillium.moe.Router;
import io.trillium.quant.GgmlType;
import io.trillium.quant.Kernels;
import jcuda.Pointer;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUstream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static io.trillium.cuda.CudaContext.check;
import static jcuda.driver.JCudaDriver.*;
import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** GPU only: each kernel against the CPU code it mirrors (quant's scalar kernels, core's Ops/Router/attention). */
class GpuKernelsTest {
    static CudaContext ctx;
    static CudaKernels k;
    static CUstream s;
    static final List<CUdeviceptr> allocated = new ArrayList<>();

    @BeforeAll
    static void start() {
        CudaSupport.Probe p = CudaSupport.probe();
        assumeTrue(p.available(), () -> "skipped: " + p.reason());
        ctx = new CudaContext(0);
        k = new CudaKernels(ctx);
        s = ctx.newStream();
        System.out.println("kernels from " + k.loadedFrom());
    }

    @AfterAll
    static void stop() {
        if (ctx != null) {
            allocated.forEach(p -> cuMemFree(p));
            k.close();
            ctx.close();
        }
    }

    static CUdeviceptr dev(float[] v) {
        CUdeviceptr p = new CUdeviceptr();
        check(cuMemAlloc(p, Math.max(4L, 4L * v.length)), "alloc");
        allocated.add(p);
        check(cuMemcpyHtoD(p, Pointer.to(v), 4L * v.length), "h2d");
        return p;
    }

    static CUdeviceptr dev(MemorySegment m) {
        CUdeviceptr p = new CUdeviceptr();
        check(cuMemAlloc(p, m.byteSize()), "alloc");
        allocated.add(p);
        check(cuMemcpyHtoD(p, Pointer.to(m.asByteBuffer()), m.byteSize()), "h2d");
        return p;
    }

    static float[] host(CUdeviceptr p, int n) {
        check(cuStreamSynchronize(s), "sync");
        float[] v = new float[n];
        check(cuMemcpyDtoH(Pointer.to(v), p, 4L * n), "d2h");
        return v;
    }

    static float[] random(Random r, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) r.nextGaussian();
        }
        return v;
    }

    static void close(float[] want, float[] got, double tol) {
        assertTrue(GpuCheck.relL2(want, got) <= tol, () -> "rel-L2 " + GpuCheck.relL2(want, got));
    }

    @Test
    void matVecEveryTypeMatchesTheScalarKernel() {
        Random r = new Random(1);
        int n = 512, rows = 37;
        for (GgmlType t : CudaKernels.MATVEC.keySet()) {
            float[] w = random(r, n * rows);
            long rowBytes = t.bytesFor(n);
            MemorySegment q = Arena.ofAuto().allocate(rowBytes * rows, 64);
            for (int row = 0; row < rows; row++) {
                Kernels.quantizer(t).quantize(w, row * n, q, row * rowBytes, n);
            }
            float[] x = random(r, n);
            float[] want = new float[rows];
            Kernels.scalar(t).matVec(q, 0, rowBytes, x, n, want, 0, rows);
            CUdeviceptr y = dev(new float[rows]);
            k.matVec(t, dev(q), rowBytes, dev(x), y, n, rows, s);
            float[] got = host(y, rows);
            close(want, got, 1e-5);
        }
    }

    @Test
    void rmsnormSwigluAxpy() {
        Random r = new Random(2);
        int n = 1000;
        float[] x = random(r, n), w = random(r, n), want = new float[n];
        Ops.rmsnorm(want, 0, x, 0, w, n, 1e-6f);
        CUdeviceptr out = dev(new float[n]);
        k.rmsnorm(out, dev(x), dev(w), n, 1, n, 1e-6f, s);
        close(want, host(out, n), 1e-6);

        float[] g = random(r, n), u = random(r, n), g2 = g.clone();
        Ops.swiglu(g2, u, n);
        CUdeviceptr dg = dev(g);
        k.swiglu(dg, dev(u), n, s);
        close(g2, host(dg, n), 1e-6);

        float[] y = random(r, n), y2 = y.clone();
        Ops.axpy(y2, 0.5f, x, n);
        CUdeviceptr dy = dev(y);
        k.axpy(dy, 0.5f, dev(x), n, s);
        close(y2, host(dy, n), 1e-7);
    }

    @Test
    void ropeNormAndNeox() {
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
            CUdeviceptr dx = dev(x);
            k.rope(dx, heads, stride, offset, dev(cs), dims, neox, s);
            close(want, host(dx, x.length), 1e-6);
        }
    }

    @Test
    void mlaAttentionMatchesTheHostLoop() {
        Random r = new Random(4);
        int heads = 4, kvLora = 64, rope = 16, width = kvLora + rope, npos = 37, cap = 64;
        float scale = 0.1f;
        float[] q = random(r, heads * width), cache = random(r, cap * width);
        float[] want = new float[heads * kvLora];
        for (int h = 0; h < heads; h++) {
            float[] att = new float[npos];
            for (int t = 0; t < npos; t++) {
                att[t] = Ops.dot(q, h * width, cache, t * width, width) * scale;
            }
            Ops.softmax(att, 0, npos);
            for (int t = 0; t < npos; t++) {
                for (int i = 0; i < kvLora; i++) {
                    want[h * kvLora + i] += att[t] * cache[t * width + i];
                }
            }
        }
        CUdeviceptr o = dev(new float[heads * kvLora]);
        k.mlaAttend(dev(q), dev(cache), dev(new float[heads * cap]), o, heads, kvLora, rope, npos, cap, scale, s);
        close(want, host(o, heads * kvLora), 1e-5);
    }

    @Test
    void routerMatchesCoreRouter() {
        Random r = new Random(5);
        int experts = 64, used = 6;
        for (int variant = 0; variant < 4; variant++) {
            boolean sigmoid = variant % 2 == 0;
            int groups = variant >= 2 ? 8 : 1, groupsUsed = variant >= 2 ? 3 : 1;
            Router router = new Router(experts, used, sigmoid, true, 2.5f, groups, groupsUsed);
            float[] logits = random(r, experts), bias = random(r, experts);
            int[] ids = new int[used];
            float[] weights = new float[used];
            router.route(logits, sigmoid ? bias : null, ids, weights);
            CUdeviceptr dIds = dev(new float[used]), dW = dev(new float[used]);
            k.routerTopK(dev(logits), sigmoid ? dev(bias) : new CUdeviceptr(), experts, used, sigmoid, true, 2.5f,
                    groups, groupsUsed, dIds, dW, s);
            float[] gotIds = host(dIds, used);
            for (int j = 0; j < used; j++) {
                assertEquals(ids[j], Float.floatToRawIntBits(gotIds[j]), "variant " + variant + " choice " + j);
            }
            close(weights, host(dW, used), 1e-6);
        }
    }
}
