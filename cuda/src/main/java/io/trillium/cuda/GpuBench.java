package io.trillium.cuda;

import io.trillium.backend.ComputeBackend;
import io.trillium.backend.CpuBackend;
import io.trillium.model.LanguageModel;
import io.trillium.model.Models;
import io.trillium.quant.Numerics;

import java.io.IOException;
import java.nio.file.Path;

/**
 * Decode and prefill tokens/s of one model, CPU-only and hybrid (GPU for the always-active part,
 * routed experts on the CPU), in one run on one machine: the numbers for the README table are the
 * ratio of the two. Without a usable GPU the hybrid row says why it was skipped.
 * Usage: {@code GpuBench MODEL.gguf [decodeTokens=32] [prefillTokens=64] [threads=all]}, or
 * {@code GpuBench --synth DIR ...}: the model is {@link #benchModel}, written into DIR first if absent
 * (the README's table; no model has to travel to the GPU machine).
 */
public final class GpuBench {
    private GpuBench() {
    }

    /** One backend's speeds. */
    public record Row(String backend, double prefillTokS, double decodeTokS, String detail) {
        @Override
        public String toString() {
            return String.format("%-8s prefill %8.2f tok/s   decode %8.2f tok/s   %s", backend, prefillTokS,
                    decodeTokS, detail);
        }
    }

    public static Row measure(Path model, ComputeBackend backend, String label, int prefill, int decode)
            throws IOException {
        try (LanguageModel m = Models.load(model, backend)) {
            int vocab = m.config().vocab();
            int[] prompt = new int[prefill];
            for (int i = 0; i < prefill; i++) {
                prompt[i] = 1 + i % (vocab - 1);
            }
            LanguageModel.State s = m.newState(prefill + decode + 1);
            long t0 = System.nanoTime();
            float[] l = m.forward(s, prompt);
            long t1 = System.nanoTime();
            for (int i = 0; i < decode; i++) {
                l = m.forward(s, new int[] {GpuCheck.argmax(l)});
            }
            long t2 = System.nanoTime();
            String detail = backend instanceof CudaBackend c ? c.stats().toString() : backend.threads() + " threads";
            return new Row(label, prefill / ((t1 - t0) / 1e9), decode / ((t2 - t1) / 1e9), detail);
        }
    }

    /**
     * The table's model: Kimi K2.5's layer shapes (hidden 7168, MLA, 163840-token vocabulary, Q4_K) cut to
     * 12 layers of 32 experts (8 used + 1 shared): 10.5 GiB of tensors, 3.8 GiB read per token.
     */
    public static io.trillium.synth.SynthSpec benchModel() {
        return io.trillium.synth.SynthSpec.presetBuilder("kimi-k2.5").name("trillium-gpu-bench")
                .layers(12).experts(32).used(8).expertGroups(1).expertGroupsUsed(1).build();
    }

    /** {@link #benchModel()} in {@code dir}, written now unless a file of that name is there. */
    static Path synth(Path dir) throws IOException {
        io.trillium.synth.SynthSpec spec = benchModel();
        Path file = dir.resolve("trillium-gpu-bench-q4k.gguf");
        System.out.println(spec.summary());
        if (!java.nio.file.Files.exists(file)) {
            java.nio.file.Files.createDirectories(dir);
            var r = new io.trillium.synth.ModelSynthesizer(spec)
                    .threads(Runtime.getRuntime().availableProcessors()).write(file);
            System.out.printf("wrote %s: %.2f GiB in %s%n", file, r.fileBytes() / (double) (1L << 30), r.time());
        }
        return file;
    }

    public static void main(String[] args) throws IOException {
        if (args.length == 0) {
            System.err.println("usage: GpuBench (MODEL.gguf | --synth DIR) [decodeTokens=32] [prefillTokens=64] [threads=all]");
            System.exit(64);
        }
        if (args[0].equals("--synth")) {
            Path model = synth(Path.of(args[1]));
            String[] rest = java.util.Arrays.copyOfRange(args, 1, args.length);
            rest[0] = model.toString();
            main(rest);
            return;
        }
        Path model = Path.of(args[0]);
        int decode = args.length > 1 ? Integer.parseInt(args[1]) : 32;
        int prefill = args.length > 2 ? Integer.parseInt(args[2]) : 64;
        int threads = args.length > 3 ? Integer.parseInt(args[3]) : Runtime.getRuntime().availableProcessors();
        System.out.println(CudaSupport.probe());
        Row cpu = measure(model, new CpuBackend(threads, Numerics.DEFAULT), "cpu", prefill, decode);
        System.out.println(cpu);
        String[] why = new String[1];
        ComputeBackend b = CudaBackend.createOrHost(GpuOptions.fromSystemProperties(), new CpuBackend(threads, Numerics.DEFAULT),
                r -> why[0] = r);
        if (b instanceof CudaBackend) {
            Row gpu = measure(model, b, "hybrid", prefill, decode);
            System.out.println(gpu);
            System.out.printf("hybrid/cpu: prefill %.2fx, decode %.2fx%n", gpu.prefillTokS() / cpu.prefillTokS(),
                    gpu.decodeTokS() / cpu.decodeTokS());
        } else {
            b.close();
            System.out.println("hybrid   skipped: " + why[0]);
        }
    }
}
