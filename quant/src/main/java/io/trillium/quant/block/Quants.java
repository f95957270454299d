package io.trillium.quant.block;

/** ggml's shared quantization helpers (ggml-quants.c), same float op order. */
final class Quants {
    private Quants() {
    }

    static final float GROUP_MAX_EPS = 1e-15f;

    /** Round half to even via the 1.5 * 2^23 trick, as ggml's nearest_int (valid for |f| <= 4194303). */
    static int nearestInt(float f) {
        float v = f + 12582912f;
        return (Float.floatToRawIntBits(v) & 0x007fffff) - 0x00400000;
    }

    /**
     * make_qkx2_quants: asymmetric n-level fit (scale, min) of x[x0 .. x0+n) minimising weighted squared error,
     * scanning nstep+1 candidate inverse scales. Writes levels to L[l0..], -min to theMin[mi]; returns scale.
     */
    static float makeQkx2Quants(int n, int nmax, float[] x, int x0, float[] weights, int[] L, int l0,
                                float[] theMin, int mi, int[] laux, float rmin, float rdelta, int nstep) {
        float min = x[x0], max = x[x0];
        float sumW = weights[0];
        float sumX = sumW * x[x0];
        for (int i = 1; i < n; i++) {
            if (x[x0 + i] < min) min = x[x0 + i];
            if (x[x0 + i] > max) max = x[x0 + i];
            float w = weights[i];
            sumW += w;
            sumX += w * x[x0 + i];
        }
        if (min > 0) min = 0;
        if (max == min) {
            for (int i = 0; i < n; i++) L[l0 + i] = 0;
            theMin[mi] = -min;
            return 0f;
        }
        float iscale = nmax / (max - min);
        float scale = 1 / iscale;
        float bestError = 0;
        for (int i = 0; i < n; i++) {
            int l = nearestInt(iscale * (x[x0 + i] - min));
            L[l0 + i] = Math.max(0, Math.min(nmax, l));
            float diff = scale * L[l0 + i] + min - x[x0 + i];
            bestError += weights[i] * (diff * diff);
        }
        for (int is = 0; is <= nstep; is++) {
            iscale = (rmin + rdelta * is + nmax) / (max - min);
            float sumL = 0, sumL2 = 0, sumXL = 0;
            for (int i = 0; i < n; i++) {
                int l = Math.max(0, Math.min(nmax, nearestInt(iscale * (x[x0 + i] - min))));
                laux[i] = l;
                float w = weights[i];
                sumL += w * l;
                sumL2 += w * l * l;
                sumXL += w * l * x[x0 + i];
            }
            float det = sumW * sumL2 - sumL * sumL;
            if (det > 0) {
                float thisScale = (sumW * sumXL - sumX * sumL) / det;
                float thisMin = (sumL2 * sumX - sumL * sumXL) / det;
                if (thisMin > 0) {
                    thisMin = 0;
                    thisScale = sumXL / sumL2;
                }
                float err = 0;
                for (int i = 0; i < n; i++) {
                    float diff = thisScale * laux[i] + thisMin - x[x0 + i];
                    err += weights[i] * (diff * diff);
                }
                if (err < bestError) {
                    System.arraycopy(laux, 0, L, l0, n);
                    bestError = err;
                    scale = thisScale;
                    min = thisMin;
                }
            }
        }
        theMin[mi] = -min;
        return scale;
    }

    /**
     * make_qx_quants with rmse_type 1 and no importance weights: symmetric fit of x[x0 .. x0+n) to
     * [-nmax, nmax-1], weights x^2, trying 19 inverse scales; levels (+nmax) go to L[l0..]; returns scale.
     */
    static float makeQxQuants(int n, int nmax, float[] x, int x0, int[] L, int l0) {
        float max = 0, amax = 0;
        for (int i = 0; i < n; i++) {
            float ax = Math.abs(x[x0 + i]);
            if (ax > amax) {
                amax = ax;
                max = x[x0 + i];
            }
        }
        if (amax < GROUP_MAX_EPS) {
            for (int i = 0; i < n; i++) L[l0 + i] = 0;
            return 0f;
        }
        float iscale = -nmax / max;
        float sumlx = 0, suml2 = 0;
        for (int i = 0; i < n; i++) {
            float xi = x[x0 + i];
            int l = Math.max(-nmax, Math.min(nmax - 1, nearestInt(iscale * xi)));
            L[l0 + i] = l + nmax;
            float w = xi * xi;
            sumlx += w * xi * l;
            suml2 += w * l * l;
        }
        float scale = suml2 != 0 ? sumlx / suml2 : 0f;
        float best = scale * sumlx;
        for (int is = -9; is <= 9; is++) {
            if (is == 0) continue;
            iscale = -(nmax + 0.1f * is) / max;
            sumlx = suml2 = 0;
            for (int i = 0; i < n; i++) {
                float xi = x[x0 + i];
                int l = Math.max(-nmax, Math.min(nmax - 1, nearestInt(iscale * xi)));
                float w = xi * xi;
                sumlx += w * xi * l;
                suml2 += w * l * l;
            }
            if (suml2 > 0 && sumlx * sumlx > best * suml2) {
                for (int i = 0; i < n; i++) {
                    L[l0 + i] = nmax + Math.max(-nmax, Math.min(nmax - 1, nearestInt(iscale * x[x0 + i])));
                }
                scale = sumlx / suml2;
                best = scale * sumlx;
            }
        }
        return scale;
    }
}
