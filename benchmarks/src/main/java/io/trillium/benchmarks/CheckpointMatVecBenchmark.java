package io.trillium.benchmarks;

import io.trillium.quant.DotKernel;
import io.trillium.quant.GgmlType;
import io.trillium.quant.Kernels;
import io.trillium.quant.Tensor;
import org.openjdk.jmh.annotations.*;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * Single-thread Vector API mat-vec of the native-checkpoint types next to the GGUF 4-bit types at one
 * shape: rows of {@link #COLS} = 7168 inputs (Kimi K2's hidden size: the gate/up experts' row length),
 * as many rows as fill {@code trillium.bench.mib} MiB of weights (default 512, beyond the last-level
 * cache). CT_INT4 is compressed-tensors pack-quantized INT4 with its BF16 scales (4.5 bits/weight, like
 * Q4_0), F8_E4M3_B128 FP8 with 128x128 block scales. One operation is one full mat-vec:
 * weights/s = rows × cols × ops/s, bytes/s = (data + scales) × ops/s.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-Xmx2g",
        "--enable-native-access=ALL-UNNAMED"})
public class CheckpointMatVecBenchmark {
    static final int COLS = 7168;

    @Param({"CT_INT4", "Q4_0", "Q4_K", "F8_E4M3_B128"})
    public String type;

    private Arena arena;
    private Tensor w;
    private float[] x;
    private float[] y;
    private DotKernel kernel;

    @Setup(Level.Trial)
    public void setup() {
        GgmlType t = GgmlType.valueOf(type);
        String mib = System.getProperty("trillium.bench.mib");
        long bytes = (mib == null ? 512L : Long.parseLong(mib)) << 20;
        int rows = Math.toIntExact(Math.max(128, bytes / t.bytesFor(COLS)) / 128 * 128);
        arena = Arena.ofShared();
        SplittableRandom rnd = new SplittableRandom(42);
        w = switch (t) {
            case CT_INT4, F8_E4M3_B128 -> {
                MemorySegment d = arena.allocate(t.bytesFor((long) rows * COLS), 4096);
                for (long i = 0; i < d.byteSize(); i++) {
                    byte b = (byte) rnd.nextInt(256);
                    d.set(ValueLayout.JAVA_BYTE, i, t == GgmlType.F8_E4M3_B128 && (b & 0x7F) == 0x7F ? 0 : b);
                }
                MemorySegment s = arena.allocate(t.scaleBytes(COLS, rows), 64);
                for (long i = 0; i < s.byteSize(); i += 2) {
                    // BF16 (INT4) or the halves of an F32 (FP8): small positive scales either way
                    s.set(ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), i,
                            t == GgmlType.CT_INT4 || i % 4 == 2 ? (short) 0x3C00 : 0);
                }
                yield new Tensor("w", t, new long[] {COLS, rows}, d, s);
            }
            default -> {
                MemorySegment d = arena.allocate(t.bytesFor((long) rows * COLS), 4096);
                float[] row = new float[COLS];
                long rb = t.bytesFor(COLS);
                for (int r = 0; r < Math.min(rows, 256); r++) {
                    for (int i = 0; i < COLS; i++) {
                        row[i] = (float) (rnd.nextDouble() * 2 - 1);
                    }
                    Kernels.quantizer(t).quantize(row, 0, d, r * rb, COLS);
                }
                for (long r = 256; r < rows; r += 256) {
                    MemorySegment.copy(d, 0, d, r * rb, Math.min(256, rows - r) * rb);
                }
                yield new Tensor("w", t, new long[] {COLS, rows}, d);
            }
        };
        x = new float[COLS];
        for (int i = 0; i < COLS; i++) {
            x[i] = (float) (rnd.nextDouble() * 2 - 1);
        }
        y = new float[rows];
        kernel = Kernels.simd(w);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        arena.close();
    }

    @Benchmark
    public float matVec() {
        kernel.matVec(w.data(), 0, w.rowBytes(), x, COLS, y, 0, y.length);
        return y[y.length - 1];
    }

    /** Prints rows, weights and bytes per operation of each type at the default size (for the README's arithmetic). */
    public static void main(String[] args) {
        for (String t : new String[] {"CT_INT4", "Q4_0", "Q4_K", "F8_E4M3_B128"}) {
            CheckpointMatVecBenchmark b = new CheckpointMatVecBenchmark();
            b.type = t;
            b.setup();
            System.out.printf("%s rows %d weights/op %d bytes/op %d%n", t, b.y.length, (long) b.y.length * COLS,
                    b.w.totalBytes());
            b.tearDown();
        }
    }
}
