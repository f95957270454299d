package io.trillium.cuda;

import io.trillium.backend.ComputeBackend;
import io.trillium.backend.CpuBackend;
import io.trillium.model.ForwardOptions;
import io.trillium.model.LanguageModel;
import io.trillium.model.Models;
import io.trillium.quant.Numerics;
import io.trillium.tier.ExpertPlacement;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * The GPU proof on one machine: for every model, logits of the GPU backend against the CPU backend
 * (rel-L2 per step ≤ {@link #MAX_REL_L2}) and greedy tokens identical. Runs as a test
 * ({@code GpuLogitsTest}) and as a main in the GPU bundle, where no Maven is available.
 * Usage: {@code GpuCheck MODELS_DIR_OR_GGUF...} (or {@code --probe}); exit 0 all pass, 1 a mismatch, 2 no GPU.
 */
public final class GpuCheck {
    public static final double MAX_REL_L2 = 1e-3;
    static final int PROMPT = 6;
    static final int GENERATE = 16;

    private GpuCheck() {
    }

    /** One model's outcome. */
    public record Result(Path model, double worstRelL2, int[] cpuTokens, int[] gpuTokens, CudaBackend.Stats stats) {
        public boolean passed() {
            return worstRelL2 <= MAX_REL_L2 && java.util.Arrays.equals(cpuTokens, gpuTokens);
        }

        @Override
        public String toString() {
            return String.format("%s: worst rel-L2 %.3g, greedy %s, %s", model.getFileName(), worstRelL2,
                    java.util.Arrays.equals(cpuTokens, gpuTokens) ? "identical" : "DIFFER cpu "
                            + java.util.Arrays.toString(cpuTokens) + " gpu " + java.util.Arrays.toString(gpuTokens),
                    stats);
        }
    }

    /** The model files under {@code dir} (or {@code dir} itself when it is a file), type-zoo aside. */
    public static List<Path> models(Path dir) throws IOException {
        if (Files.isRegularFile(dir)) {
            return List.of(dir);
        }
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> p.toString().endsWith(".gguf") && !p.getFileName().toString().startsWith("type-zoo"))
                    .sorted().toList();
        }
    }

    /** CPU vs GPU on {@code model}: a fixed prompt, then greedy decoding on each backend independently. */
    public static Result compare(Path model, GpuOptions options) throws IOException {
        return compare(model, options, ForwardOptions.DEFAULT);
    }

    /** As {@link #compare(Path, GpuOptions)}, the GPU's model running its forward pass as {@code forward} says. */
    public static Result compare(Path model, GpuOptions options, ForwardOptions forward) throws IOException {
        return compare(model, host -> CudaBackend.create(options, host), forward);
    }

    /** CPU vs the backend {@code make} builds over a CPU backend. */
    static Result compare(Path model, java.util.function.Function<ComputeBackend, CudaBackend> make) throws IOException {
        return compare(model, make, ForwardOptions.DEFAULT);
    }

    /** CPU vs the backend {@code make} builds over a CPU backend, whose model runs as {@code forward} says. */
    static Result compare(Path model, java.util.function.Function<ComputeBackend, CudaBackend> make,
                          ForwardOptions forward) throws IOException {
        int threads = Math.max(1, Runtime.getRuntime().availableProcessors());
        List<float[]> cpu = new ArrayList<>();
        int[] cpuTokens;
        try (LanguageModel m = Models.load(model, new CpuBackend(threads, Numerics.EXACT))) {
            cpuTokens = run(m, cpu);
        }
        List<float[]> gpu = new ArrayList<>();
        int[] gpuTokens;
        CudaBackend.Stats stats;
        CudaBackend backend = make.apply(new CpuBackend(threads, Numerics.EXACT));
        try (LanguageModel m = Models.load(model, backend, ExpertPlacement.mapped(), forward)) {
            gpuTokens = run(m, gpu);
            stats = backend.stats();
        }
        double worst = 0;
        for (int i = 0; i < Math.min(cpu.size(), gpu.size()); i++) {
            worst = Math.max(worst, relL2(cpu.get(i), gpu.get(i)));
        }
        return new Result(model, worst, cpuTokens, gpuTokens, stats);
    }

    /** Prompt ids 1..PROMPT (mod vocab) in one forward, then greedy; collects every step's logits. */
    private static int[] run(LanguageModel m, List<float[]> logits) {
        int vocab = m.config().vocab();
        try (LanguageModel.State s = m.newState(PROMPT + GENERATE + 1)) {
            return run(m, s, logits);
        }
    }

    private static int[] run(LanguageModel m, LanguageModel.State s, List<float[]> logits) {
        int vocab = m.config().vocab();
        int[] prompt = new int[PROMPT];
        for (int i = 0; i < PROMPT; i++) {
            prompt[i] = (i + 1) % vocab;
        }
        float[] l = m.forward(s, prompt);   // one batch: the device prefill where there is one
        logits.add(l.clone());
        int[] out = new int[GENERATE];
        for (int i = 0; i < GENERATE; i++) {
            out[i] = argmax(l);
            l = m.forward(s, new int[] {out[i]});
            logits.add(l.clone());
        }
        return out;
    }

    /** Every device prefill batch streams its routed experts to the device (normally only long prompts do). */
    static final ForwardOptions STREAMED_EXPERTS = ForwardOptions.DEFAULT.withStreamExpertsFrom(2);

    /** The most chosen experts move to VRAM every 4 decode tokens. */
    static final ForwardOptions VRAM_EXPERTS = ForwardOptions.DEFAULT.withVramExpertsEvery(4);

    static int argmax(float[] v) {
        int best = 0;
        for (int i = 1; i < v.length; i++) {
            if (v[i] > v[best]) {
                best = i;
            }
        }
        return best;
    }

    /** ||a - b|| / ||a||. */
    static double relL2(float[] a, float[] b) {
        double num = 0;
        double den = 0;
        for (int i = 0; i < a.length; i++) {
            double d = (double) a[i] - b[i];
            num += d * d;
            den += (double) a[i] * a[i];
        }
        return Math.sqrt(num / Math.max(den, Double.MIN_NORMAL));
    }

    public static void main(String[] args) throws IOException {
        if (args.length == 0) {
            System.err.println("usage: GpuCheck MODELS_DIR_OR_GGUF...");
            System.exit(64);
        }
        CudaSupport.Probe p = CudaSupport.probe();
        System.out.println(p);
        if (!p.available()) {
            System.exit(2);
        }
        if (args[0].equals("--probe")) {
            return;
        }
        boolean ok = true;
        for (String a : args) {
            for (Path model : models(Path.of(a))) {
                GpuOptions o = GpuOptions.fromSystemProperties();
                Result r = compare(model, o);
                System.out.println((r.passed() ? "PASS " : "FAIL ") + r);
                ok &= r.passed();
                // the one-matrix-at-a-time path too (what models without a device step use)
                Result single = compare(model, host -> CudaBackend.create(o, host).withoutDeviceStep());
                System.out.println((single.passed() ? "PASS " : "FAIL ") + "(matrix by matrix) " + single);
                ok &= single.passed();
                // prefill with the routed experts streamed to the GPU (normally only for long prompts)
                Result streamed = compare(model, o, STREAMED_EXPERTS);
                System.out.println((streamed.passed() ? "PASS " : "FAIL ") + "(experts streamed) " + streamed);
                ok &= streamed.passed();
                Result vram = compare(model, o, VRAM_EXPERTS);
                System.out.println((vram.passed() ? "PASS " : "FAIL ") + "(experts in VRAM) " + vram);
                ok &= vram.passed();
            }
        }
        System.exit(ok ? 0 : 1);
    }
}
