package io.trillium.cli;

import io.trillium.api.TierReport;
import io.trillium.gguf.GgufFile;
import io.trillium.model.LanguageModel;
import io.trillium.model.ModelConfig;
import io.trillium.model.Models;
import io.trillium.model.WeightBytes;
import io.trillium.quant.MemoryBandwidth;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;

/**
 * {@code trillium bench --model FILE}: prompt processing and single-token decode speed, as tokens/s,
 * effective weight GB/s, and a fraction of the bandwidth ceiling measured in the same run.
 */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = "Measure prefill and decode speed against the memory bandwidth ceiling.")
final class BenchCommand implements Callable<Integer> {

    @Option(names = "--model", required = true, paramLabel = "FILE", description = "GGUF model or safetensors checkpoint directory")
    Path model;

    @Option(names = "--threads", paramLabel = "N", description = "threads (default: all processors)")
    Integer threads;

    @picocli.CommandLine.Mixin
    NumericsOptions numerics;

    @Option(names = "--prompt-tokens", paramLabel = "N", defaultValue = "64", description = "prefill length (default ${DEFAULT-VALUE})")
    int promptTokens;

    @Option(names = "--decode-tokens", paramLabel = "N", defaultValue = "32", description = "decoded tokens (default ${DEFAULT-VALUE})")
    int decodeTokens;

    @Option(names = "--probe-mib", paramLabel = "MIB", defaultValue = "1024",
            description = "buffer of the bandwidth probe; keep it far above the last-level cache (default ${DEFAULT-VALUE})")
    int probeMib;

    @Option(names = "--repeats", paramLabel = "N", defaultValue = "3", description = "measured runs after one warm-up; each figure is their median, with min-max and a 95%% "
                    + "confidence interval (default ${DEFAULT-VALUE})")
    int repeats;

    @Option(names = "--decode-input", paramLabel = "MODE", defaultValue = "argmax",
            description = "what each decode step feeds: argmax (the model's own greedy token, as generation does) "
                    + "or random (uniform random ids: no repetition for the expert cache to exploit) (default ${DEFAULT-VALUE})")
    String decodeInput;

    @Option(names = "--sessions", paramLabel = "N", defaultValue = "1",
            description = "sessions decoding together, each with its own prompt (one batched pass per step); over 1, "
                    + "prints the aggregate decode speed (default ${DEFAULT-VALUE})")
    int sessions;

    @Option(names = "--breakdown", description = "print where the last prompt's and the last decode run's time "
            + "went (\"prefill breakdown:\", \"breakdown:\"), by operation class (attention, dense/shared FFN, "
            + "routed experts, router, output) and the pool's barrier waits")
    boolean breakdown;

    @picocli.CommandLine.Mixin
    TierOptions tiers;

    @Override
    public Integer call() throws Exception {
        int t = threads != null ? threads : Runtime.getRuntime().availableProcessors();
        if (t < 1 || promptTokens < 1 || decodeTokens < 1 || repeats < 1 || probeMib < 1 || sessions < 1) {
            throw new IllegalArgumentException(
                    "--threads, --prompt-tokens, --decode-tokens, --repeats, --probe-mib and --sessions must be >= 1");
        }
        boolean randomInput = switch (decodeInput) {
            case "argmax" -> false;
            case "random" -> true;
            default -> throw new IllegalArgumentException("--decode-input " + decodeInput + ": expected argmax or random");
        };
        WeightBytes wb;
        if (io.trillium.safetensors.SafetensorsCheckpoint.isCheckpoint(model)) {
            Path dir = java.nio.file.Files.isDirectory(model) ? model : model.toAbsolutePath().getParent();
            try (var w = io.trillium.model.CheckpointWeights.of(io.trillium.safetensors.SafetensorsCheckpoint.open(model), false)) {
                wb = w.weightBytes(io.trillium.model.CheckpointConfig.read(dir));
            }
        } else {
            try (GgufFile g = GgufFile.open(model)) {
                wb = WeightBytes.of(g, ModelConfig.fromGguf(g.metadata()));
            }
        }
        double bw = MemoryBandwidth.measure(t, (long) probeMib << 20, 3);
        double ceiling = bw / wb.activePerToken();
        System.out.printf("model: %s%n", model);
        System.out.printf("weights: %s in all, %s active per token (%s of routed experts)%n",
                InspectCommand.human(wb.total()), InspectCommand.human(wb.activePerToken()),
                InspectCommand.human(wb.routedExperts()));
        System.out.printf("machine: %d threads, memory read %.2f GB/s (measured now), ceiling %.1f tok/s%n",
                t, bw / 1e9, ceiling);

        io.trillium.quant.Numerics mode = numerics.numerics();
        System.out.printf("kernels: %s; Java %s; %s%n", mode == io.trillium.quant.Numerics.EXACT
                        ? "float32 activations (exact)" : "Q8_0/Q8_K activations (llama.cpp's numerics)",
                io.trillium.quant.Kernels.vectorStatus(), io.trillium.quant.Kernels.nativeStatus());
        System.out.printf("experts: %s tier%s; decode input: %s%n", tiers.expertTier,
                tiers.dramBudget != null ? ", DRAM budget " + tiers.dramBudget + ", " + tiers.cachePolicy
                        + (tiers.hotExperts != null ? ", hot set from " + tiers.hotExperts : "") : "", decodeInput);
        io.trillium.model.ForwardOptions forward = tiers.forward();   // a bad flag fails before a backend exists
        io.trillium.backend.ComputeBackend backend = tiers.backend(t, mode);
        try (LanguageModel m = Models.load(model, backend, tiers.placement(model, t), forward)) {
            if (sessions > 1) {
                together(m, randomInput);
                return 0;
            }
            int ctx = Math.min(m.config().contextLength(), promptTokens + decodeTokens + 1);
            LanguageModel.State s = m.newState(ctx);
            SplittableRandom rnd = new SplittableRandom(1);
            int[] prompt = new int[promptTokens];
            for (int i = 0; i < prompt.length; i++) {
                prompt[i] = rnd.nextInt(m.config().vocab());
            }
            double[] prefills = new double[repeats];
            double[] decodes = new double[repeats];
            TierReport before = null;
            TierReport after = null;
            int[] one = new int[1];
            for (int r = 0; r < repeats + 1; r++) {   // the first run warms up the JIT
                s.reset();
                io.trillium.model.StepTimes ptimes = breakdown && r == repeats ? m.prefillTimes() : null;
                io.trillium.backend.WorkerPool pool =
                        backend instanceof io.trillium.backend.CpuBackend c ? c.pool() : null;
                if (ptimes != null) {
                    ptimes.reset();
                    ptimes.enable(true);
                }
                long ploops0 = pool != null ? pool.loops() : 0, pwait0 = pool != null ? pool.waitNanos() : 0;
                long t0 = System.nanoTime();
                float[] logits = m.forward(s, prompt);
                long prefillNanos = System.nanoTime() - t0;
                double prefill = promptTokens / (prefillNanos / 1e9);
                if (ptimes != null) {
                    ptimes.enable(false);
                    breakdownLines("prefill breakdown", "prompt token", ptimes, prefillNanos, promptTokens,
                            pool != null ? pool.loops() - ploops0 : -1, pool != null ? pool.waitNanos() - pwait0 : -1);
                }
                TierReport b = TierReport.of(m);
                io.trillium.model.StepTimes times = m.stepTimes();
                boolean timed = breakdown && r == repeats && times != null;
                if (timed) {
                    times.reset();
                    times.enable(true);
                }
                long loops0 = pool != null ? pool.loops() : 0, wait0 = pool != null ? pool.waitNanos() : 0;
                long t1 = System.nanoTime();
                for (int i = 0; i < decodeTokens; i++) {
                    one[0] = randomInput ? rnd.nextInt(m.config().vocab()) : argmax(logits);
                    logits = m.forward(s, one);
                }
                long decodeNanos = System.nanoTime() - t1;
                double decode = decodeTokens / (decodeNanos / 1e9);
                if (timed) {
                    times.enable(false);
                    breakdownLines("breakdown", "decoded token", times, decodeNanos, decodeTokens,
                            pool != null ? pool.loops() - loops0 : -1,
                            pool != null ? pool.waitNanos() - wait0 : -1);
                } else if (breakdown && r == repeats) {
                    System.out.println("breakdown: not measured for this model's decode step (deepseek2 host step only)");
                }
                if (r == repeats) {
                    before = b;
                    after = TierReport.of(m);
                }
                if (r > 0) {
                    prefills[r - 1] = prefill;
                    decodes[r - 1] = decode;
                }
            }
            tierLines(before, after);
            String gpu = backend.report();
            if (gpu != null) {
                System.out.println("gpu: " + gpu);
            }
            s.close();
            Spread p = Spread.of(prefills), d = Spread.of(decodes);
            System.out.println("prefill samples: " + Spread.samples(prefills) + " tok/s");
            System.out.println("decode samples: " + Spread.samples(decodes) + " tok/s");
            System.out.println("prefill spread: " + p.format("tok/s"));
            System.out.println("decode spread: " + d.format("tok/s"));
            line("prefill", p.median(), wb.activePerToken(), bw);
            line("decode", d.median(), wb.activePerToken(), bw);
        }
        return 0;
    }

    /**
     * {@code --sessions N}: N sessions, each with its own random prompt, prefilled one after the other, then
     * decoding together, one {@link LanguageModel#forwardEach} per step; the best of the repeats.
     */
    private void together(LanguageModel m, boolean randomInput) {
        int ctx = Math.min(m.config().contextLength(), promptTokens + decodeTokens + 1);
        int vocab = m.config().vocab();
        SplittableRandom rnd = new SplittableRandom(1);
        LanguageModel.State[] states = new LanguageModel.State[sessions];
        int[][] prompts = new int[sessions][promptTokens];
        double[] aggregate = new double[repeats];
        try {
            for (int i = 0; i < sessions; i++) {
                states[i] = m.newState(ctx);
                for (int j = 0; j < promptTokens; j++) {
                    prompts[i][j] = rnd.nextInt(vocab);
                }
            }
            int[] next = new int[sessions];
            for (int r = 0; r < repeats + 1; r++) {   // the first run warms up the JIT
                float[][] logits = new float[sessions][];
                for (int i = 0; i < sessions; i++) {
                    states[i].reset();
                    logits[i] = m.forward(states[i], prompts[i]);
                    next[i] = randomInput ? rnd.nextInt(vocab) : argmax(logits[i]);   // before the next prompt runs
                }
                long t0 = System.nanoTime();
                for (int k = 0; k < decodeTokens; k++) {
                    logits = m.forwardEach(states, next);
                    for (int i = 0; i < sessions; i++) {
                        next[i] = randomInput ? rnd.nextInt(vocab) : argmax(logits[i]);
                    }
                }
                double seconds = (System.nanoTime() - t0) / 1e9;
                if (r > 0) {
                    aggregate[r - 1] = (double) sessions * decodeTokens / seconds;
                }
            }
        } finally {
            for (LanguageModel.State s : states) {
                if (s != null) {
                    s.close();
                }
            }
        }
        double best = java.util.Arrays.stream(aggregate).max().orElseThrow();
        System.out.println("aggregate samples: " + Spread.samples(aggregate) + " tok/s");
        System.out.println("aggregate spread: " + Spread.of(aggregate).format("tok/s"));
        System.out.printf(java.util.Locale.ROOT, "aggregate: %.2f tok/s over %d sessions (per session %.2f tok/s)%n",
                best, sessions, best / sessions);
    }

    /**
     * {@code --breakdown}: milliseconds per token and share of the run's time per operation class (the
     * decode run's under "breakdown", the prompt's under "prefill breakdown").
     */
    private static void breakdownLines(String title, String unit, io.trillium.model.StepTimes t, long nanos,
                                       int count, long loops, long waitNanos) {
        double tokens = count;
        System.out.printf(java.util.Locale.ROOT, "%s: %.2f ms per %s%n", title, nanos / 1e6 / tokens, unit);
        long sum = 0;
        for (io.trillium.model.StepTimes.Op op : io.trillium.model.StepTimes.Op.values()) {
            long ns = t.nanos(op);
            sum += ns;
            System.out.printf(java.util.Locale.ROOT, "  %-70s %7.2f ms/token %5.1f%%%n", op.label(), ns / 1e6 / tokens,
                    100.0 * ns / nanos);
        }
        System.out.printf(java.util.Locale.ROOT, "  %-70s %7.2f ms/token %5.1f%%%n", "other (sampling input, bookkeeping)",
                (nanos - sum) / 1e6 / tokens, 100.0 * (nanos - sum) / nanos);
        if (loops >= 0) {
            System.out.printf(java.util.Locale.ROOT, "  pool: %.0f parallel loops per token; the caller waited %.2f ms/token "
                    + "(%.1f%%) for workers at their barriers (inside the classes above)%n", loops / tokens,
                    waitNanos / 1e6 / tokens, 100.0 * waitNanos / nanos);
        }
    }

    /** Bytes per token by tier, cache and prediction over the last decode run; the process's memory. */
    private void tierLines(TierReport b, TierReport a) {
        TierReport d = a.since(b);
        StringBuilder line = new StringBuilder("decode bytes/token:");
        d.bytesRead().keySet().stream().sorted().forEach(tier -> line.append(String.format(java.util.Locale.ROOT,
                " %s %.1f MiB", tier, d.bytesPerToken(tier) / (1 << 20))));
        System.out.println(line);
        d.cache().ifPresent(c -> System.out.printf(java.util.Locale.ROOT, "expert cache: hit rate %.1f%%, "
                        + "read time hidden %.0f%%, DRAM %.0f of %.0f MiB, %d pinned%n", 100 * c.hitRate(),
                100 * c.hiddenReadFraction(), c.dramUsed() / 1048576.0, c.dramBudget() / 1048576.0, c.pinned()));
        if (!Double.isNaN(a.predictionAccuracy())) {
            System.out.printf(java.util.Locale.ROOT, "prediction: %.1f%% of chosen experts predicted (since load)%n",
                    100 * a.predictionAccuracy());
        }
        System.out.println("memory: " + ResidentMemory.now());
        if (tiers.stats) {
            System.out.print(a.format());
        }
    }

    private static void line(String what, double tokPerS, long activeBytes, double bw) {
        double gbs = tokPerS * activeBytes / 1e9;
        System.out.printf("%s: %.2f tok/s, %.2f GB/s, %.0f%% of the bandwidth ceiling%n",
                what, tokPerS, gbs, 100 * gbs * 1e9 / bw);
    }

    private static int argmax(float[] v) {
        int best = 0;
        for (int i = 1; i < v.length; i++) {
            if (v[i] > v[best]) {
                best = i;
            }
        }
        return best;
    }
}
