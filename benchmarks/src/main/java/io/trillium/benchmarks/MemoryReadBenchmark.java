package io.trillium.benchmarks;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import org.openjdk.jmh.annotations.*;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.concurrent.TimeUnit;

/**
 * STREAM-like single-thread read bandwidth: sums a 1 GiB off-heap buffer with the Vector API.
 * One operation reads the whole buffer once, so bytes/s = {@link #BYTES} x ops/s.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-Xmx2g",
        "--sun-misc-unsafe-memory-access=allow"})
public class MemoryReadBenchmark {
    static final long BYTES = BenchData.bytesFromProperty();
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;

    private Arena arena;
    private MemorySegment buf;

    @Setup(Level.Trial)
    public void setup() {
        arena = Arena.ofShared();
        buf = arena.allocate(BYTES, 4096);
        for (long i = 0; i < BYTES; i += 4) {
            buf.set(ValueLayout.JAVA_FLOAT_UNALIGNED, i, (i & 0xFFFF) * 1e-6f);
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        arena.close();
    }

    @Benchmark
    public float read() {
        FloatVector a0 = FloatVector.zero(S);
        FloatVector a1 = FloatVector.zero(S);
        FloatVector a2 = FloatVector.zero(S);
        FloatVector a3 = FloatVector.zero(S);
        long step = S.vectorByteSize();
        for (long i = 0; i < BYTES; i += 4 * step) {
            a0 = a0.add(FloatVector.fromMemorySegment(S, buf, i, ByteOrder.LITTLE_ENDIAN));
            a1 = a1.add(FloatVector.fromMemorySegment(S, buf, i + step, ByteOrder.LITTLE_ENDIAN));
            a2 = a2.add(FloatVector.fromMemorySegment(S, buf, i + 2 * step, ByteOrder.LITTLE_ENDIAN));
            a3 = a3.add(FloatVector.fromMemorySegment(S, buf, i + 3 * step, ByteOrder.LITTLE_ENDIAN));
        }
        return a0.add(a1).add(a2).add(a3).reduceLanes(VectorOperators.ADD);
    }
}
