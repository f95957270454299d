package io.trillium.benchmarks;

import io.trillium.quant.DotKernel;
import io.trillium.quant.GgmlType;
import io.trillium.quant.Kernels;
import io.trillium.quant.QuantizedDotKernel;
import org.openjdk.jmh.annotations.*;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.TimeUnit;

/**
 * Single-thread mat-vec over a >= 1 GiB weight matrix of one ggml type. One operation is one full
 * mat-vec, so weight bytes/s = {@code rows x rowBytes x ops/s} (printed by {@link KernelReport}).
 * Routes: {@code simd} (Vector API fused dequant-dot on f32 activations), {@code int} (activations
 * quantized to Q8_0/Q8_K once per mat-vec, integer dot per block), {@code native} (the same integer
 * route in C with int8 dot-product instructions, {@link Kernels#quantizedBest}; fails setup, i.e. is
 * skipped, where the native library is unavailable), {@code scalar} (the reference).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-Xmx2g",
        "--sun-misc-unsafe-memory-access=allow",
        "--enable-native-access=ALL-UNNAMED"})
public class MatVecBenchmark {

    @Param({"F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "IQ4_NL",
            "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K", "IQ4_XS"})
    public String type;

    @Param({"simd", "int", "native", "scalar"})
    public String route;

    private Arena arena;
    private MemorySegment w;
    private long rowBytes;
    private int rows;
    private float[] x;
    private float[] y;
    private DotKernel kernel;
    private QuantizedDotKernel intKernel;
    private MemorySegment xq;

    @Setup(Level.Trial)
    public void setup() {
        GgmlType t = GgmlType.valueOf(type);
        arena = Arena.ofShared();
        rows = BenchData.rowsFor(t, BenchData.bytesFromProperty());
        rowBytes = t.bytesFor(BenchData.COLS);
        w = BenchData.matrix(arena, t, rows, 42);
        x = BenchData.vector(BenchData.COLS, 7);
        y = new float[rows];
        switch (route) {
            case "simd" -> kernel = Kernels.simd(t);
            case "scalar" -> kernel = Kernels.scalar(t);
            case "int", "native" -> {
                intKernel = route.equals("int") ? Kernels.quantized(t) : nativeKernel(t);
                if (intKernel == null) {
                    throw new IllegalStateException("no integer route for " + t + " (skipped)");
                }
                GgmlType at = intKernel.activationType();
                xq = arena.allocate(at.bytesFor(BenchData.COLS), 64);
                Kernels.quantizer(at).quantize(x, 0, xq, 0, BenchData.COLS);
            }
            default -> throw new IllegalArgumentException("route " + route);
        }
    }

    /** The native kernel of {@code t}, or null where unavailable (no library, or none for this type). */
    static QuantizedDotKernel nativeKernel(GgmlType t) {
        QuantizedDotKernel k = Kernels.quantizedBest(t);
        return k == null || k == Kernels.quantized(t) ? null : k;
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        arena.close();
    }

    /** Weight bytes one operation reads. */
    public long bytesPerOp() {
        return rows * rowBytes;
    }

    @Benchmark
    public float matVec() {
        if (intKernel != null) {
            // Quantizing the activations is part of the route's cost: once per mat-vec.
            GgmlType at = intKernel.activationType();
            Kernels.quantizer(at).quantize(x, 0, xq, 0, BenchData.COLS);
            intKernel.matVec(w, 0, rowBytes, xq, BenchData.COLS, y, 0, rows);
        } else {
            kernel.matVec(w, 0, rowBytes, x, BenchData.COLS, y, 0, rows);
        }
        return y[rows - 1];
    }
}
