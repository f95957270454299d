package io.trillium.cuda;

import io.trillium.quant.GgmlType;

import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * Typed launchers of the project's kernels ({@code cuda/src/main/cuda/*.cu}, compiled ahead of time by
 * {@code build-ptx.sh}); device memory as addresses, every launch on the given stream of {@code gpu}.
 */
final class CudaKernels {
    /** The kernel modules (resource base names) and their entry points. */
    static final Map<String, List<String>> ENTRIES = Map.of(
            "matvec", List.of("matvec_f32", "matvec_f16", "matvec_bf16", "matvec_q8_0", "matvec_q4_0", "matvec_q5_0",
                    "matvec_q4_k", "matvec_q5_k", "matvec_q6_k"),
            "ops", List.of("rmsnorm_f32", "rope_f32", "swiglu_f32", "axpy_f32", "copy_f32"),
            "attention", List.of("mla_attend", "mla_attend_split", "mla_combine"),
            "gemm", List.of("dequant_rows", "gemm_f32"));
    /** Rows per mat-vec block: one warp per row. */
    static final int MATVEC_ROWS = 8;
    /** Mat-vec kernel per weight type; other types stay on the host. */
    static final Map<GgmlType, String> MATVEC = new EnumMap<>(Map.of(
            GgmlType.F32, "matvec_f32", GgmlType.F16, "matvec_f16", GgmlType.BF16, "matvec_bf16",
            GgmlType.Q8_0, "matvec_q8_0", GgmlType.Q4_0, "matvec_q4_0", GgmlType.Q5_0, "matvec_q5_0",
            GgmlType.Q4_K, "matvec_q4_k", GgmlType.Q5_K, "matvec_q5_k", GgmlType.Q6_K, "matvec_q6_k"));

    private final Gpu gpu;

    CudaKernels(Gpu gpu) {
        this.gpu = gpu;
    }

    static boolean hasMatVec(GgmlType t) {
        return MATVEC.containsKey(t);
    }

    /** {@code y[r] = row(r) · x} for rows of {@code rowBytes} bytes of type {@code t}, n values each. */
    void matVec(GgmlType t, long w, long rowBytes, long x, long y, int n, int rows, long s) {
        matVec(t, w, rowBytes, rows, 1, 0, x, 0, y, 0, n, s);
    }

    /** {@code heads} mat-vecs: head h on the rows {@code h·headBytes} bytes into w, x and y advanced by the strides. */
    void matVec(GgmlType t, long w, long rowBytes, int rows, int heads, long headBytes, long x, int xStride, long y,
                int yStride, int n, long s) {
        String k = MATVEC.get(t);
        if (k == null) {
            throw new IllegalArgumentException("no GPU mat-vec for " + t);
        }
        gpu.launch(k, (rows + MATVEC_ROWS - 1) / MATVEC_ROWS, heads, 32 * MATVEC_ROWS, 0, s, w, rowBytes, headBytes,
                x, xStride, y, yStride, n, rows);
    }

    /** RMSNorm of {@code count} vectors {@code stride} floats apart; out may be x. */
    void rmsnorm(long out, long x, long w, int n, int count, int stride, float eps, long s) {
        gpu.launch("rmsnorm_f32", count, 1, 256, 0, s, out, x, w, n, stride, eps);
    }

    /** RoPE of {@code count} vectors ({@code x + k·stride + offset}) by {@code cs = [cos | sin]}. */
    void rope(long x, int count, int stride, int offset, long cs, int dims, boolean neox, long s) {
        int total = count * (dims / 2);
        gpu.launch("rope_f32", (total + 255) / 256, 1, 256, 0, s, x, count, stride, offset, cs, dims, neox ? 1 : 0);
    }

    void swiglu(long gate, long up, int n, long s) {
        gpu.launch("swiglu_f32", (n + 255) / 256, 1, 256, 0, s, gate, up, n);
    }

    void axpy(long y, float a, long x, int n, long s) {
        gpu.launch("axpy_f32", (n + 255) / 256, 1, 256, 0, s, y, a, x, n);
    }

    /** {@code count} copies of {@code n} floats between strided places. */
    void copy(long dst, int dstStride, long src, int srcStride, int n, int count, long s) {
        long total = (long) n * count;
        gpu.launch("copy_f32", Math.toIntExact((total + 255) / 256), 1, 256, 0, s, dst, dstStride, src, srcStride, n,
                count);
    }

    /** MLA decode attention of {@code heads} heads over {@code npos} cached entries of one layer. */
    void mlaAttend(long qAbs, long cache, long att, long oLat, int heads, int kvLora, int rope, int npos, int attStride,
                   float kqScale, long s) {
        gpu.launch("mla_attend", heads, 1, 256, 0, s, qAbs, cache, att, oLat, kvLora, rope, npos, attStride, kqScale);
    }

    /** {@code out[r·n + i]} = element i of row r, for {@code rows} rows of type {@code t}. */
    void dequantRows(GgmlType t, long w, long rowBytes, long out, int n, int rows, long s) {
        long total = (long) n * rows;
        gpu.launch("dequant_rows", Math.toIntExact((total + 255) / 256), 1, 256, 0, s, w, rowBytes, t.id(), out, n,
                rows);
    }

    /** {@code Y[t·yStride + r] = W[r] · X[t·xStride ..]} for F32 {@code W} of {@code rows} rows of {@code n}. */
    void gemm(long w, int n, int rows, long x, int xStride, long y, int yStride, int tokens, long s) {
        gpu.launch("gemm_f32", (rows + 15) / 16, (tokens + 15) / 16, 256, 0, s, w, n, rows, x, xStride, y, yStride,
                tokens);
    }

    /**
     * Split (flash-decoding) MLA attention: {@code splits} chunks per head, partial results in
     * {@code pm}/{@code pl} (heads × splits floats) and {@code po} (heads × splits × kvLora), then combined.
     */
    void mlaAttendSplit(long qAbs, long cache, long pm, long pl, long po, long oLat, int heads, int kvLora, int rope,
                        int npos, int splits, float kqScale, long s) {
        int chunk = (npos + splits - 1) / splits;
        gpu.launch("mla_attend_split", heads, splits, 256, chunk * Float.BYTES, s, qAbs, cache, pm, pl, po, kvLora,
                rope, npos, chunk, kqScale);
        gpu.launch("mla_combine", heads, 1, 256, 0, s, pm, pl, po, oLat, kvLora, splits);
    }

    /** Chunks for {@link #mlaAttendSplit} at {@code npos} cached tokens: 128 tokens each up to 32, ≤ 8192 floats of shared memory. */
    static int attentionSplits(int npos) {
        int splits = Math.min((npos + 127) / 128, 32);
        return Math.max(splits, (npos + 8191) / 8192);
    }
}
