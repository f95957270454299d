package io.trillium.model;

import io.trillium.backend.Ops;

/**
 * Rotary position embedding as ggml computes it: per pair i of the {@code dims} rotated values the
 * frequency {@code base^(-2i/dims)}, with linear or YaRN context scaling. NORM rotates adjacent pairs
 * (x[2i], x[2i+1]) (llama, deepseek2); NEOX rotates (x[i], x[i + dims/2]) (qwen).
 */
public final class Rope {
    private final int dims;
    private final boolean neox;
    private final double[] freq;     // per pair: base^(-2i/dims)
    private final double[] ramp;     // per pair: weight of the unscaled frequency (YaRN), 0 = fully scaled
    private final double freqScale;  // 1 / factor
    private final double magnitude;  // cos/sin amplitude

    public Rope(ModelConfig c) {
        this(c, null);
    }

    /**
     * With per-pair frequency factors (llama 3.1's {@code rope_freqs.weight}, {@code dims/2} values):
     * pair i turns at {@code base^(-2i/dims) / factors[i]}, as ggml_rope_ext's freq_factors.
     */
    public Rope(ModelConfig c, float[] factors) {
        this.dims = c.ropeDims();
        this.neox = c.ropeNeox();
        int half = dims / 2;
        if (factors != null && factors.length != half) {
            throw new IllegalArgumentException("rope frequency factors: " + factors.length + " values for "
                    + half + " pairs");
        }
        freq = new double[half];
        ramp = new double[half];
        for (int i = 0; i < half; i++) {
            freq[i] = Math.pow(c.ropeBase(), -2.0 * i / dims) / (factors == null ? 1.0 : factors[i]);
        }
        boolean yarn = c.ropeScaling().equals("yarn");
        boolean scaled = yarn || c.ropeScaling().equals("linear");
        freqScale = scaled ? 1.0 / c.ropeFactor() : 1.0;
        if (yarn) {
            // ggml_rope_yarn_corr_dims: the pairs below `low` keep their frequency, above `high` are fully scaled.
            double low = Math.max(0, Math.floor(corrDim(dims, c.ropeOrigCtx(), c.ropeBase(), c.yarnBetaFast())));
            double high = Math.min(dims - 1, Math.ceil(corrDim(dims, c.ropeOrigCtx(), c.ropeBase(), c.yarnBetaSlow())));
            for (int i = 0; i < half; i++) {
                double y = (i - low) / Math.max(0.001, high - low);
                ramp[i] = 1 - Math.min(1, Math.max(0, y));
            }
            // ggml scales cos/sin by 1 + 0.1·ln(factor); deepseek2 cancels it (its mscale² goes into the softmax scale).
            magnitude = c.isMla() ? 1.0 : 1.0 + 0.1 * Math.log(c.ropeFactor());
        } else {
            magnitude = 1.0;
        }
    }

    private static double corrDim(int dims, int origCtx, double base, double beta) {
        return dims * Math.log(origCtx / (beta * 2 * Math.PI)) / (2 * Math.log(base));
    }

    /** Whether pairs are the two halves (NEOX) rather than adjacent values (NORM). */
    public boolean neox() {
        return neox;
    }

    /** Rotated values per head. */
    public int dims() {
        return dims;
    }

    /** Fills {@code cos[0 .. dims/2)} and {@code sin[...]} for position {@code pos}. */
    public void angles(int pos, float[] cos, float[] sin) {
        for (int i = 0; i < freq.length; i++) {
            double ext = pos * freq[i];
            double theta = ext * freqScale * (1 - ramp[i]) + ext * ramp[i];
            cos[i] = (float) (Math.cos(theta) * magnitude);
            sin[i] = (float) (Math.sin(theta) * magnitude);
        }
    }

    /** Rotates the first {@link #dims()} values of {@code x[off..]} by the angles of one position. */
    public void apply(float[] x, int off, float[] cos, float[] sin) {
        Ops.rotate(x, off, cos, 0, sin, 0, dims / 2, neox);
    }
}
