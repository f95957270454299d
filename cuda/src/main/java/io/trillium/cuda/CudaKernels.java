package io.trillium.cuda;

import io.trillium.quant.GgmlType;
import jcuda.Pointer;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUfunction;
import jcuda.driver.CUmodule;
import jcuda.driver.CUresult;
import jcuda.driver.CUstream;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static io.trillium.cuda.CudaContext.check;
import static jcuda.driver.JCudaDriver.*;

/**
 * The project's kernels ({@code cuda/src/main/cuda/*.cu}), compiled ahead of time by
 * {@code build-ptx.sh} and loaded with {@code cuModuleLoadData}: the fatbin first (SASS for
 * sm_80/86/89/90, no JIT), else the compute_80 PTX (JIT by the driver; nvcc 13 PTX needs r580+).
 * Typed launchers, one per kernel; all launches go on the given stream.
 */
public final class CudaKernels implements AutoCloseable {
    /** The kernel modules (resource base names) and their entry points. */
    static final Map<String, List<String>> ENTRIES = Map.of(
            "matvec", List.of("matvec_f32", "matvec_f16", "matvec_bf16", "matvec_q8_0", "matvec_q4_k", "matvec_q6_k"),
            "ops", List.of("rmsnorm_f32", "rope_f32", "swiglu_f32", "axpy_f32"),
            "attention", List.of("mla_attend"),
            "router", List.of("router_topk"));
    static final String RESOURCES = "/io/trillium/cuda/kernels/";
    /** Rows per mat-vec block: one warp per row. */
    static final int MATVEC_ROWS = 8;
    /** Mat-vec kernel per weight type; other types stay on the host. */
    static final Map<GgmlType, String> MATVEC = new EnumMap<>(Map.of(
            GgmlType.F32, "matvec_f32", GgmlType.F16, "matvec_f16", GgmlType.BF16, "matvec_bf16",
            GgmlType.Q8_0, "matvec_q8_0", GgmlType.Q4_K, "matvec_q4_k", GgmlType.Q6_K, "matvec_q6_k"));

    private final CudaContext ctx;
    private final List<CUmodule> modules = new ArrayList<>();
    private final Map<String, CUfunction> functions = new LinkedHashMap<>();
    private final Map<String, String> loadedFrom = new LinkedHashMap<>();

    CudaKernels(CudaContext ctx) {
        this.ctx = ctx;
        ctx.makeCurrent();
        try {
            for (var e : ENTRIES.entrySet()) {
                CUmodule m = load(e.getKey());
                modules.add(m);
                for (String name : e.getValue()) {
                    CUfunction f = new CUfunction();
                    check(cuModuleGetFunction(f, m, name), "cuModuleGetFunction(" + name + ")");
                    functions.put(name, f);
                }
            }
        } catch (RuntimeException ex) {
            close();
            throw ex;
        }
    }

    private CUmodule load(String name) {
        CUmodule m = new CUmodule();
        int rcFat = cuModuleLoadData(m, resource(name + ".fatbin", false));
        if (rcFat == CUresult.CUDA_SUCCESS) {
            loadedFrom.put(name, "fatbin");
            return m;
        }
        int rcPtx = cuModuleLoadData(m, resource(name + ".ptx", true));
        if (rcPtx == CUresult.CUDA_SUCCESS) {
            loadedFrom.put(name, "ptx (JIT)");
            return m;
        }
        throw new CudaContext.CudaException("cannot load kernel module " + name + ": fatbin "
                + CUresult.stringFor(rcFat) + ", PTX " + CUresult.stringFor(rcPtx)
                + " (the PTX comes from nvcc 13 and needs an NVIDIA driver r580 or newer)");
    }

    /** A kernel resource's bytes; PTX text gets the NUL terminator cuModuleLoadData expects. */
    static byte[] resource(String file, boolean terminate) {
        try (InputStream in = CudaKernels.class.getResourceAsStream(RESOURCES + file)) {
            if (in == null) {
                throw new IllegalStateException("kernel resource " + RESOURCES + file
                        + " is missing from the jar (run cuda/src/main/cuda/build-ptx.sh)");
            }
            byte[] b = in.readAllBytes();
            return terminate ? java.util.Arrays.copyOf(b, b.length + 1) : b;
        } catch (IOException e) {
            throw new UncheckedIOException("reading kernel resource " + file, e);
        }
    }

    /** Per module, what was loaded: "fatbin" or "ptx (JIT)". */
    public Map<String, String> loadedFrom() {
        return Map.copyOf(loadedFrom);
    }

    static boolean hasMatVec(GgmlType t) {
        return MATVEC.containsKey(t);
    }

    // ---- launchers

    /** {@code y[r] = row(r) · x} for rows of {@code rowBytes} bytes of type {@code t}, n values each. */
    void matVec(GgmlType t, CUdeviceptr w, long rowBytes, CUdeviceptr x, CUdeviceptr y, int n, int rows, CUstream s) {
        String k = MATVEC.get(t);
        if (k == null) {
            throw new IllegalArgumentException("no GPU mat-vec for " + t);
        }
        launch(k, (rows + MATVEC_ROWS - 1) / MATVEC_ROWS, 32 * MATVEC_ROWS, 0, s, w, rowBytes, x, y, n, rows);
    }

    /** RMSNorm of {@code count} vectors {@code stride} floats apart; out may be x. */
    void rmsnorm(CUdeviceptr out, CUdeviceptr x, CUdeviceptr w, int n, int count, int stride, float eps, CUstream s) {
        launch("rmsnorm_f32", count, 256, 0, s, out, x, w, n, stride, eps);
    }

    /** RoPE of {@code count} vectors ({@code x + k·stride + offset}) by {@code cs = [cos | sin]}. */
    void rope(CUdeviceptr x, int count, int stride, int offset, CUdeviceptr cs, int dims, boolean neox, CUstream s) {
        int total = count * (dims / 2);
        launch("rope_f32", (total + 255) / 256, 256, 0, s, x, count, stride, offset, cs, dims, neox ? 1 : 0);
    }

    void swiglu(CUdeviceptr gate, CUdeviceptr up, int n, CUstream s) {
        launch("swiglu_f32", (n + 255) / 256, 256, 0, s, gate, up, n);
    }

    void axpy(CUdeviceptr y, float a, CUdeviceptr x, int n, CUstream s) {
        launch("axpy_f32", (n + 255) / 256, 256, 0, s, y, a, x, n);
    }

    /** MLA decode attention of {@code heads} heads over {@code npos} cached entries of one layer. */
    void mlaAttend(CUdeviceptr qAbs, CUdeviceptr cache, CUdeviceptr att, CUdeviceptr oLat, int heads, int kvLora,
                   int rope, int npos, int attStride, float kqScale, CUstream s) {
        launch("mla_attend", heads, 256, 0, s, qAbs, cache, att, oLat, kvLora, rope, npos, attStride, kqScale);
    }

    /** Router top-k of one token; {@code bias} may be a null device pointer ({@code new CUdeviceptr()}). */
    void routerTopK(CUdeviceptr logits, CUdeviceptr bias, int experts, int used, boolean sigmoid, boolean normalize,
                    float scale, int groups, int groupsUsed, CUdeviceptr ids, CUdeviceptr weights, CUstream s) {
        int shared = (2 * experts + groups) * Float.BYTES;
        launch("router_topk", 1, 256, shared, s, logits, bias, experts, used, sigmoid ? 1 : 0, normalize ? 1 : 0,
                scale, groups, groupsUsed, ids, weights);
    }

    private void launch(String name, int grid, int block, int sharedBytes, CUstream s, Object... args) {
        Pointer[] ps = new Pointer[args.length];
        for (int i = 0; i < args.length; i++) {
            ps[i] = switch (args[i]) {
                case CUdeviceptr p -> Pointer.to(p);
                case Integer v -> Pointer.to(new int[] {v});
                case Long v -> Pointer.to(new long[] {v});
                case Float v -> Pointer.to(new float[] {v});
                default -> throw new IllegalArgumentException("kernel argument " + args[i]);
            };
        }
        check(cuLaunchKernel(functions.get(name), grid, 1, 1, block, 1, 1, sharedBytes, s, Pointer.to(ps), null),
                "launch " + name);
    }

    @Override
    public void close() {
        ctx.makeCurrent();
        for (CUmodule m : modules) {
            cuModuleUnload(m);
        }
        modules.clear();
        functions.clear();
    }
}
