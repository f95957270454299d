package io.trillium.benchmarks;

import io.trillium.quant.GgmlType;
import io.trillium.quant.Kernels;
import io.trillium.quant.Quantizer;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;

/** Off-heap benchmark matrices far larger than the last-level cache, filled with valid blocks. */
final class BenchData {
    private BenchData() {
    }

    /** Default weight bytes per matrix: 1 GiB, over twice the 480 MiB L3 reported here. */
    static final long DEFAULT_BYTES = 1L << 30;

    /** Elements per row (a multiple of every block size). */
    static final int COLS = 4096;

    static long bytesFromProperty() {
        String mib = System.getProperty("trillium.bench.mib");
        return mib == null ? DEFAULT_BYTES : Long.parseLong(mib) << 20;
    }

    /** Rows needed for at least {@code bytes} of weights. */
    static int rowsFor(GgmlType type, long bytes) {
        long rb = type.bytesFor(COLS);
        return Math.toIntExact((bytes + rb - 1) / rb);
    }

    /**
     * A matrix of {@code rows} rows of {@link #COLS} elements: a pool of 256 distinct random rows
     * (quantized from N(0,1) where a quantizer exists, else random bytes with every byte below 0x3C
     * so that each fp16 scale is finite and normal-range), tiled to the full size.
     */
    static MemorySegment matrix(Arena arena, GgmlType type, int rows, long seed) {
        long rowBytes = type.bytesFor(COLS);
        int poolRows = Math.min(rows, 256);
        MemorySegment pool = arena.allocate(poolRows * rowBytes, 64);
        SplittableRandom rnd = new SplittableRandom(seed);
        Quantizer q = quantizerOrNull(type);
        if (q != null) {
            float[] row = new float[COLS];
            for (int r = 0; r < poolRows; r++) {
                for (int i = 0; i < COLS; i++) {
                    row[i] = (float) gaussian(rnd);
                }
                q.quantize(row, 0, pool, r * rowBytes, COLS);
            }
        } else {
            for (long i = 0; i < pool.byteSize(); i++) {
                pool.set(java.lang.foreign.ValueLayout.JAVA_BYTE, i, (byte) rnd.nextInt(0x3C));
            }
        }
        MemorySegment m = arena.allocate(rows * rowBytes, 4096);
        for (long r = 0; r < rows; r += poolRows) {
            long n = Math.min(poolRows, rows - r);
            MemorySegment.copy(pool, 0, m, r * rowBytes, n * rowBytes);
        }
        return m;
    }

    static float[] vector(int n, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) gaussian(rnd);
        }
        return x;
    }

    private static Quantizer quantizerOrNull(GgmlType type) {
        try {
            return Kernels.quantizer(type);
        } catch (UnsupportedOperationException e) {
            return null;
        }
    }

    private static double gaussian(SplittableRandom rnd) {
        double u = rnd.nextDouble(1e-12, 1.0);
        double v = rnd.nextDouble();
        return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
    }
}
