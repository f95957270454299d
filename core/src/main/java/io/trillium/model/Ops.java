package io.trillium.model;

/** The small vector operations of a transformer block, on float arrays, as llama.cpp computes them. */
public final class Ops {
    private Ops() {
    }

    /** {@code out[i] = x[i] / sqrt(mean(x²) + eps) · w[i]} over {@code n} values (sum of squares in double, like ggml). */
    public static void rmsnorm(float[] out, int outOff, float[] x, int xOff, float[] w, int n, float eps) {
        double ss = 0;
        for (int i = 0; i < n; i++) {
            float v = x[xOff + i];
            ss += v * v;
        }
        float scale = (float) (1.0 / Math.sqrt(ss / n + eps));
        for (int i = 0; i < n; i++) {
            out[outOff + i] = x[xOff + i] * scale * w[i];
        }
    }

    /** In-place softmax of {@code x[off .. off + n)}. */
    public static void softmax(float[] x, int off, int n) {
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            max = Math.max(max, x[off + i]);
        }
        double sum = 0;
        for (int i = 0; i < n; i++) {
            float e = (float) Math.exp(x[off + i] - max);
            x[off + i] = e;
            sum += e;
        }
        float inv = (float) (1.0 / sum);
        for (int i = 0; i < n; i++) {
            x[off + i] *= inv;
        }
    }

    /** {@code silu(x) = x / (1 + e^-x)}. */
    public static float silu(float x) {
        return x / (1f + (float) Math.exp(-x));
    }

    /** {@code gate[i] = silu(gate[i]) · up[i]}: the SwiGLU activation, in place. */
    public static void swiglu(float[] gate, float[] up, int n) {
        for (int i = 0; i < n; i++) {
            gate[i] = silu(gate[i]) * up[i];
        }
    }

    /** {@code y[yOff + i] += a · x[xOff + i]} for {@code i < n}. */
    public static void axpy(float[] y, int yOff, float a, float[] x, int xOff, int n) {
        for (int i = 0; i < n; i++) {
            y[yOff + i] += a * x[xOff + i];
        }
    }

    /** {@code y[i] += a · x[i]}. */
    public static void axpy(float[] y, float a, float[] x, int n) {
        for (int i = 0; i < n; i++) {
            y[i] += a * x[i];
        }
    }

    /** {@code y[i] += x[i]}. */
    public static void add(float[] y, float[] x, int n) {
        for (int i = 0; i < n; i++) {
            y[i] += x[i];
        }
    }

    /** Dot product of {@code a[aOff..]} and {@code b[bOff..]} over {@code n} values. */
    public static float dot(float[] a, int aOff, float[] b, int bOff, int n) {
        float s = 0;
        for (int i = 0; i < n; i++) {
            s += a[aOff + i] * b[bOff + i];
        }
        return s;
    }

    /**
     * One head of MLA decode attention over {@code npos} latent cache entries {@code [c (kvLora) | k_pe]}
     * of {@code width} floats from {@code cache[cacheOff]}: {@code att[attOff + t] = softmax(q · entry[t] ·
     * scale)}, {@code o[oOff ..] = Σ att[t] · c[t]}. The host step and the CPU device share it.
     */
    public static void mlaAttendHead(float[] q, int qOff, float[] cache, int cacheOff, int npos, int width, int kvLora,
                                     float scale, float[] att, int attOff, float[] o, int oOff) {
        for (int t = 0; t < npos; t++) {
            att[attOff + t] = dot(q, qOff, cache, cacheOff + t * width, width) * scale;
        }
        softmax(att, attOff, npos);
        java.util.Arrays.fill(o, oOff, oOff + kvLora, 0f);
        for (int t = 0; t < npos; t++) {
            axpy(o, oOff, att[attOff + t], cache, cacheOff + t * width, kvLora);
        }
    }
}
