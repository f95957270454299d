package io.trillium.benchmarks;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.commons.math3.stat.descriptive.DescriptiveStatistics;
import org.apache.commons.math3.stat.descriptive.rank.Median;
import org.apache.commons.math3.stat.inference.TTest;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Trillium against llama.cpp on the same model file, threads and lengths, in one run: llama-bench's
 * {@code ppP} and {@code tgN} tests (its per-repetition samples, {@code -o json}) beside
 * {@code trillium bench}'s prefill and decode samples, the two sides alternating run by run (a round: one
 * llama-bench repetition of every test, then one trillium run per prompt length). Prints one
 * markdown table: each side's median with min-max, the ratio of medians, and Welch's t-test (two-sided,
 * commons-math3) of whether the two sets of samples differ; "yes" when p < 0.05.
 *
 * <pre>VsLlama LLAMA_BENCH MODEL THREADS TRILLIUM [--prompt-tokens 64,512] [--decode-tokens 32] [--repeats 5] [-- bench flags]</pre>
 * ({@code benchmarks/scripts/vs-llama.sh} passes the launcher {@code examples/bin/trillium}.)
 */
public final class VsLlama {
    private VsLlama() {
    }

    record Row(String test, double[] llama, double[] trillium) {
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 4) {
            System.err.println("usage: VsLlama LLAMA_BENCH MODEL THREADS TRILLIUM [--prompt-tokens 64,512] "
                    + "[--decode-tokens 32] [--repeats 5] [-- trillium bench flags]");
            System.exit(2);
        }
        String llamaBench = args[0];
        Path model = Path.of(args[1]);
        int threads = Integer.parseInt(args[2]);
        String trillium = args[3];
        int[] prompts = {64, 512};
        int decode = 32;
        int repeats = 5;
        List<String> extra = new ArrayList<>();
        for (int i = 4; i < args.length; i++) {
            switch (args[i]) {
                case "--prompt-tokens" -> prompts = Arrays.stream(args[++i].split(",")).mapToInt(Integer::parseInt).toArray();
                case "--decode-tokens" -> decode = Integer.parseInt(args[++i]);
                case "--repeats" -> repeats = Integer.parseInt(args[++i]);
                case "--" -> {
                    extra.addAll(Arrays.asList(args).subList(i + 1, args.length));
                    i = args.length;
                }
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        if (!Files.isRegularFile(model)) {
            throw new IllegalArgumentException("model " + model + ": no such file");
        }
        String pList = String.join(",", Arrays.stream(prompts).mapToObj(Integer::toString).toList());
        // The sides alternate run by run: on a shared machine the memory bandwidth drifts by tens of percent
        // over minutes, and all of one side's runs followed by all of the other's would compare two periods.
        Map<String, List<Double>> llama = new LinkedHashMap<>();
        Map<String, List<Double>> ours = new LinkedHashMap<>();
        String cpu = "";
        String json = "";
        for (int r = 0; r < repeats; r++) {
            System.err.println("round " + (r + 1) + " of " + repeats + ": llama-bench -t " + threads + " -p " + pList
                    + " -n " + decode + " -r 1");
            json = run(List.of(llamaBench, "-m", model.toString(), "-t", Integer.toString(threads), "-p", pList,
                    "-n", Integer.toString(decode), "-r", "1", "-o", "json"), false);
            parseLlamaBench(json).forEach((test, v) -> {
                for (double x : v) {
                    llama.computeIfAbsent(test, k -> new ArrayList<>()).add(x);
                }
            });
            for (int p : prompts) {
                List<String> cmd = new ArrayList<>(List.of(trillium, "bench", "--model", model.toString(), "--threads",
                        Integer.toString(threads), "--prompt-tokens", Integer.toString(p), "--decode-tokens",
                        Integer.toString(decode), "--repeats", "1"));
                cmd.addAll(extra);
                System.err.println("round " + (r + 1) + " of " + repeats + ": trillium " + String.join(" ",
                        cmd.subList(1, cmd.size())));
                String out = run(cmd, true);
                add(ours, "pp" + p, samples(out, "prefill"));
                if (p == prompts[0]) {   // decode after the first prompt length, as llama-bench's tg test
                    add(ours, "tg" + decode, samples(out, "decode"));
                }
                Matcher k = Pattern.compile("(?m)^kernels: (.*)$").matcher(out);
                if (k.find()) {
                    cpu = k.group(1);
                }
            }
        }
        List<Row> rows = new ArrayList<>();
        for (var e : ours.entrySet()) {
            List<Double> l = llama.get(e.getKey());
            if (l == null) {
                throw new IllegalStateException("llama-bench gave no " + e.getKey() + " result; it printed:\n" + json);
            }
            rows.add(new Row(e.getKey(), array(l), array(e.getValue())));
        }
        System.out.printf(Locale.ROOT, "model: %s, %d threads, %d measured runs per side%n", model, threads, repeats);
        System.out.println("cpu: " + cpuName() + "; trillium kernels: " + cpu);
        System.out.print(table(rows));
    }

    private static void add(Map<String, List<Double>> m, String test, double[] v) {
        for (double x : v) {
            m.computeIfAbsent(test, k -> new ArrayList<>()).add(x);
        }
    }

    private static double[] array(List<Double> v) {
        return v.stream().mapToDouble(Double::doubleValue).toArray();
    }

    /** The markdown table of {@code rows}. */
    static String table(List<Row> rows) {
        StringBuilder b = new StringBuilder();
        b.append("| test | llama.cpp tok/s (median, min-max) | Trillium tok/s (median, min-max) | ratio | Welch p | distinguishable from 1 |\n");
        b.append("|---|---:|---:|---:|---:|---|\n");
        for (Row r : rows) {
            double ml = new Median().evaluate(r.llama()), mt = new Median().evaluate(r.trillium());
            double p = welchP(r.llama(), r.trillium());
            String verdict = Double.isNaN(p) ? "n/a (needs 2+ runs each)" : p < 0.05 ? "yes" : "no";
            b.append(String.format(Locale.ROOT, "| %s | %.2f (%s) | %.2f (%s) | **%.2fx** | %s | %s |%n", r.test(), ml,
                    range(r.llama()), mt, range(r.trillium()), mt / ml,
                    Double.isNaN(p) ? "-" : String.format(Locale.ROOT, "%.3g", p), verdict));
        }
        return b.toString();
    }

    /** Two-sided Welch t-test p-value; NaN when a side has fewer than two samples or neither varies. */
    static double welchP(double[] a, double[] b) {
        if (a.length < 2 || b.length < 2) {
            return Double.NaN;
        }
        DescriptiveStatistics sa = new DescriptiveStatistics(a), sb = new DescriptiveStatistics(b);
        if (sa.getVariance() == 0 && sb.getVariance() == 0) {
            return sa.getMean() == sb.getMean() ? 1 : 0;
        }
        return new TTest().tTest(a, b);
    }

    private static String range(double[] v) {
        DescriptiveStatistics s = new DescriptiveStatistics(v);
        return String.format(Locale.ROOT, "%.2f-%.2f", s.getMin(), s.getMax());
    }

    /** llama-bench's JSON: test name (pp64, tg32) to its per-repetition tok/s. */
    static Map<String, double[]> parseLlamaBench(String json) throws IOException {
        int start = json.indexOf('[');
        if (start < 0) {
            throw new IllegalStateException("llama-bench printed no JSON array:\n" + json);
        }
        JsonNode arr = new ObjectMapper().readTree(json.substring(start));
        Map<String, double[]> out = new LinkedHashMap<>();
        for (JsonNode t : arr) {
            int p = t.get("n_prompt").asInt(), g = t.get("n_gen").asInt();
            String name = p > 0 && g == 0 ? "pp" + p : g > 0 && p == 0 ? "tg" + g : "pp" + p + "+tg" + g;
            JsonNode s = t.get("samples_ts");
            double[] v = new double[s.size()];
            for (int i = 0; i < v.length; i++) {
                v[i] = s.get(i).asDouble();
            }
            out.put(name, v);
        }
        return out;
    }

    /** The samples of {@code trillium bench}'s "WHAT samples: a b c tok/s" line. */
    static double[] samples(String benchOut, String what) {
        Matcher m = Pattern.compile("(?m)^" + what + " samples: ([0-9. ]+) tok/s$").matcher(benchOut);
        if (!m.find()) {
            throw new IllegalStateException("trillium bench printed no '" + what + " samples:' line:\n" + benchOut);
        }
        return Arrays.stream(m.group(1).trim().split(" +")).mapToDouble(Double::parseDouble).toArray();
    }

    private static String cpuName() {
        try {
            String info = Files.readString(Path.of("/proc/cpuinfo"));
            Matcher m = Pattern.compile("(?m)^model name\\s*: (.*)$").matcher(info);
            String name = m.find() ? m.group(1).trim() : "unknown CPU";
            String isa = info.contains(" avx512_vnni") ? "AVX-512 VNNI" : info.contains(" avx512f") ? "AVX-512"
                    : info.contains(" avx2") ? "AVX2, no AVX-512" : "no AVX2";
            return name + " (" + Runtime.getRuntime().availableProcessors() + " cpus, " + isa + ")";
        } catch (IOException e) {
            return System.getProperty("os.arch");
        }
    }

    private static String run(List<String> cmd, boolean echo) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        StringBuilder out = new StringBuilder();
        try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            for (String line; (line = r.readLine()) != null; ) {
                out.append(line).append('\n');
                if (echo) {
                    System.err.println("  " + line);
                }
            }
        }
        int rc = p.waitFor();
        if (rc != 0) {
            throw new IllegalStateException(String.join(" ", cmd) + " failed (exit " + rc + "):\n" + out);
        }
        return out.toString();
    }
}
