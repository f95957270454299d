package io.trillium.quant;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Measures the machine's memory read bandwidth the way the kernels read weights: vector loads
 * streaming through an off-heap buffer far larger than the caches, split over {@code threads}.
 * Used to report speeds as a fraction of the bandwidth measured in the same run.
 */
public final class MemoryBandwidth {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;

    private MemoryBandwidth() {
    }

    /** Best of {@code repeats} passes over {@code bytes} with {@code threads} threads, in bytes per second. */
    public static double measure(int threads, long bytes, int repeats) {
        long per = Math.max(4096, bytes / threads / 4096 * 4096);
        try (Arena arena = Arena.ofShared(); ExecutorService ex = Executors.newFixedThreadPool(threads)) {
            MemorySegment buf = arena.allocate(per * threads, 4096);
            buf.fill((byte) 1);
            double best = 0;
            for (int r = 0; r < repeats + 1; r++) {   // the first pass warms up the JIT
                List<Callable<Float>> parts = new ArrayList<>();
                for (int t = 0; t < threads; t++) {
                    long off = t * per;
                    parts.add(() -> read(buf, off, per));
                }
                long t0 = System.nanoTime();
                for (Future<Float> f : ex.invokeAll(parts)) {
                    f.get();
                }
                double s = (System.nanoTime() - t0) / 1e9;
                if (r > 0) {
                    best = Math.max(best, per * threads / s);
                }
            }
            return best;
        } catch (Exception e) {
            throw new IllegalStateException("memory bandwidth probe failed", e);
        }
    }

    private static float read(MemorySegment buf, long off, long len) {
        FloatVector a0 = FloatVector.zero(S);
        FloatVector a1 = FloatVector.zero(S);
        FloatVector a2 = FloatVector.zero(S);
        FloatVector a3 = FloatVector.zero(S);
        long step = S.vectorByteSize();
        long end = off + len - 4 * step;
        for (long i = off; i <= end; i += 4 * step) {
            a0 = a0.add(FloatVector.fromMemorySegment(S, buf, i, ByteOrder.LITTLE_ENDIAN));
            a1 = a1.add(FloatVector.fromMemorySegment(S, buf, i + step, ByteOrder.LITTLE_ENDIAN));
            a2 = a2.add(FloatVector.fromMemorySegment(S, buf, i + 2 * step, ByteOrder.LITTLE_ENDIAN));
            a3 = a3.add(FloatVector.fromMemorySegment(S, buf, i + 3 * step, ByteOrder.LITTLE_ENDIAN));
        }
        return a0.add(a1).add(a2).add(a3).reduceLanes(VectorOperators.ADD);
    }
}
