package io.trillium.benchmarks;

import io.trillium.quant.GgmlType;
import io.trillium.quant.Kernels;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.ChainedOptionsBuilder;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Runs {@link MemoryReadBenchmark} and {@link MatVecBenchmark} in one process and prints, per
 * type, single-thread weight GB/s of each route as a ratio to the read bandwidth measured in the
 * same run, and the SIMD/scalar ratio. Usage:
 * {@code java -cp benchmarks.jar io.trillium.benchmarks.KernelReport [--types Q8_0,Q4_K] [--quick] [--out report.md]}.
 */
public final class KernelReport {

    public static void main(String[] args) throws RunnerException {
        List<String> types = List.of("F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "IQ4_NL",
                "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K", "IQ4_XS");
        boolean quick = false;
        boolean noScalar = false;
        Path out = null;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--types" -> types = List.of(args[++i].split(","));
                case "--quick" -> quick = true;
                case "--no-scalar" -> noScalar = true;
                case "--out" -> out = Path.of(args[++i]);
                default -> throw new IllegalArgumentException("unknown option " + args[i]
                        + " (options: --types A,B --quick --no-scalar --out FILE.md)");
            }
        }
        int warm = quick ? 2 : 3;
        int meas = quick ? 3 : 5;

        double memGBs = run(MemoryReadBenchmark.class.getSimpleName(), Map.of(), warm, meas)
                * MemoryReadBenchmark.BYTES / 1e9;
        System.err.printf("memory read: %.2f GB/s%n", memGBs);

        Map<String, double[]> rows = new LinkedHashMap<>();
        for (String type : types) {
            GgmlType t = GgmlType.valueOf(type);
            double bytes = (double) BenchData.rowsFor(t, BenchData.bytesFromProperty()) * t.bytesFor(BenchData.COLS);
            double simd = run("MatVecBenchmark", Map.of("type", type, "route", "simd"), warm, meas) * bytes / 1e9;
            double intr = Kernels.quantized(t) == null ? Double.NaN
                    : run("MatVecBenchmark", Map.of("type", type, "route", "int"), warm, meas) * bytes / 1e9;
            double nat = MatVecBenchmark.nativeKernel(t) == null ? Double.NaN
                    : run("MatVecBenchmark", Map.of("type", type, "route", "native"), warm, meas) * bytes / 1e9;
            double scalar = noScalar ? Double.NaN
                    : run("MatVecBenchmark", Map.of("type", type, "route", "scalar"), 1, 2) * bytes / 1e9;
            rows.put(type, new double[] {simd, intr, scalar, nat});
            System.err.printf("%s: simd %.2f GB/s, int %.2f GB/s, native %.2f GB/s, scalar %.2f GB/s%n",
                    type, simd, intr, nat, scalar);
        }

        StringBuilder sb = new StringBuilder();
        sb.append(String.format("machine: %d cpus, %s, Java %s, FloatVector.SPECIES_PREFERRED %d bit, 1 thread, "
                        + "matrix %d MiB, single-thread read bandwidth %.2f GB/s (measured in this run), %s%n%n",
                Runtime.getRuntime().availableProcessors(), cpuModel(), Runtime.version(),
                jdk.incubator.vector.FloatVector.SPECIES_PREFERRED.vectorBitSize(),
                BenchData.bytesFromProperty() >> 20, memGBs, Kernels.nativeStatus()));
        sb.append("| type | SIMD GB/s | SIMD / read bw | int-route GB/s | int / read bw "
                + "| native GB/s | native / read bw | scalar GB/s | SIMD / scalar |\n");
        sb.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        for (Map.Entry<String, double[]> e : rows.entrySet()) {
            double[] v = e.getValue();
            sb.append(String.format("| %s | %.2f | %.0f %% | %s | %s | %s | %s | %s | %s |%n", e.getKey(), v[0],
                    100 * v[0] / memGBs,
                    Double.isNaN(v[1]) ? "–" : String.format("%.2f", v[1]),
                    Double.isNaN(v[1]) ? "–" : String.format("%.0f %%", 100 * v[1] / memGBs),
                    Double.isNaN(v[3]) ? "–" : String.format("%.2f", v[3]),
                    Double.isNaN(v[3]) ? "–" : String.format("%.0f %%", 100 * v[3] / memGBs),
                    Double.isNaN(v[2]) ? "–" : String.format("%.2f", v[2]),
                    Double.isNaN(v[2]) ? "–" : String.format("%.1f×", v[0] / v[2])));
        }
        System.out.print(sb);
        if (out != null) {
            try {
                Files.writeString(out, sb);
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException("cannot write " + out, e);
            }
        }
    }

    /** Median ops/s of one benchmark configuration, run in a forked JVM. */
    private static double run(String benchmark, Map<String, String> params, int warm, int meas)
            throws RunnerException {
        ChainedOptionsBuilder b = new OptionsBuilder()
                .include("io\\.trillium\\.benchmarks\\." + benchmark + "\\.")
                .forks(1)
                .warmupIterations(warm)
                .warmupTime(TimeValue.seconds(2))
                .measurementIterations(meas)
                .measurementTime(TimeValue.seconds(2))
                .shouldFailOnError(true);
        String mib = System.getProperty("trillium.bench.mib");
        if (mib != null) {
            b.jvmArgsAppend("-Dtrillium.bench.mib=" + mib);
        }
        for (Map.Entry<String, String> p : params.entrySet()) {
            b.param(p.getKey(), p.getValue());
        }
        b.verbosity(org.openjdk.jmh.runner.options.VerboseMode.SILENT);
        List<RunResult> results = new ArrayList<>(new Runner(b.build()).run());
        if (results.isEmpty()) {
            throw new IllegalStateException("no result for " + benchmark + " " + params);
        }
        var stats = results.get(0).getPrimaryResult().getStatistics();
        return stats.getPercentile(50);
    }

    private static String cpuModel() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (line.startsWith("model name")) {
                    return line.substring(line.indexOf(':') + 1).trim();
                }
            }
        } catch (Exception ignored) {
            // not Linux: the model is optional
        }
        return System.getProperty("os.arch");
    }
}
