package io.trillium.model;

import io.trillium.backend.Ops;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

class RopeTest {

    static ModelConfig config(int dims, boolean neox) {
        return new ModelConfig(neox ? "qwen3" : "llama", 100, 64, 1, 2, 2, dims, dims, 128, 4096, 1e-6f,
                dims, 10000f, neox, "none", 1f, 4096, 32f, 1f, 0f,
                0, 0, 0, 0, 0, false, true, 1f, 1, 1, 0, 0, 0, 0);
    }

    static float[] random(int n, long seed) {
        Random r = new Random(seed);
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) r.nextGaussian();
        }
        return x;
    }

    @Test
    void positionZeroIsTheIdentity() {
        for (boolean neox : new boolean[] {false, true}) {
            Rope rope = new Rope(config(16, neox));
            float[] cos = new float[8];
            float[] sin = new float[8];
            rope.angles(0, cos, sin);
            float[] x = random(16, 1);
            float[] y = x.clone();
            rope.apply(y, 0, cos, sin);
            assertArrayEquals(x, y, "neox " + neox);
        }
    }

    @Test
    void normRotatesAdjacentPairsAndNeoxRotatesHalves() {
        int d = 8;
        int pos = 5;
        float[] x = random(d + 3, 2);   // an offset of 3: the head starts inside a larger vector
        for (boolean neox : new boolean[] {false, true}) {
            Rope rope = new Rope(config(d, neox));
            float[] cos = new float[d / 2];
            float[] sin = new float[d / 2];
            rope.angles(pos, cos, sin);
            float[] y = x.clone();
            rope.apply(y, 3, cos, sin);
            assertEquals(x[0], y[0]);
            for (int i = 0; i < d / 2; i++) {
                double theta = pos * Math.pow(10000, -2.0 * i / d);
                int a = 3 + (neox ? i : 2 * i);
                int b = 3 + (neox ? i + d / 2 : 2 * i + 1);
                assertEquals(x[a] * Math.cos(theta) - x[b] * Math.sin(theta), y[a], 1e-5, "neox " + neox + " pair " + i);
                assertEquals(x[a] * Math.sin(theta) + x[b] * Math.cos(theta), y[b], 1e-5, "neox " + neox + " pair " + i);
            }
        }
    }

    @Test
    void rotationKeepsNormsAndRelativePositions() {
        // q·k after rotating q by m and k by n depends on m - n only
        Rope rope = new Rope(config(16, true));
        float[] q = random(16, 3);
        float[] k = random(16, 4);
        float a = dotAt(rope, q, k, 7, 3);
        float b = dotAt(rope, q, k, 104, 100);
        assertEquals(a, b, 1e-4);
    }

    @Test
    void frequencyFactorsDivideTheFrequencies() {
        float[] factors = {1f, 2f, 4f, 8f};
        Rope rope = new Rope(config(8, false), factors);
        float[] cos = new float[4];
        float[] sin = new float[4];
        rope.angles(3, cos, sin);
        for (int i = 0; i < 4; i++) {
            double theta = 3 * Math.pow(10000, -2.0 * i / 8) / factors[i];
            assertEquals(Math.cos(theta), cos[i], 1e-6);
            assertEquals(Math.sin(theta), sin[i], 1e-6);
        }
        assertThrows(IllegalArgumentException.class, () -> new Rope(config(8, false), new float[3]));
    }

    private static float dotAt(Rope rope, float[] q, float[] k, int m, int n) {
        float[] cos = new float[8];
        float[] sin = new float[8];
        float[] qr = q.clone();
        float[] kr = k.clone();
        rope.angles(m, cos, sin);
        rope.apply(qr, 0, cos, sin);
        rope.angles(n, cos, sin);
        rope.apply(kr, 0, cos, sin);
        return Ops.dot(qr, 0, kr, 0, 16);
    }
}
