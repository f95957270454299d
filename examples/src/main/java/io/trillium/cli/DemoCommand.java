package io.trillium.cli;

import io.trillium.quant.GgmlType;
import io.trillium.synth.ModelSynthesizer;
import io.trillium.synth.SynthSpec;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

/**
 * {@code trillium demo [--cache-dir DIR] [--prompt TEXT] [--max-tokens N]}: writes (once) a small random-weight
 * deepseek2 model laid out like Kimi K2 and streams a generation on it.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = {"Run a small Kimi-K2-shaped model (MLA, sigmoid router with bias, shared expert, leading dense layer).",
                "Its weights are RANDOM: the text is meaningless; the run shows the pipeline and its speed.",
                "The model is written once into the cache directory (default ${XDG_CACHE_HOME:-~/.cache}/trillium)."})
final class DemoCommand implements Callable<Integer> {
    static final String FILE_NAME = "demo-kimi-k2-shape-Q8_0.gguf";
    static final String RANDOM_NOTE = "note: the demo model has random weights: the text is meaningless";

    @Option(names = "--cache-dir", paramLabel = "DIR", description = "where the demo model is kept")
    Path cacheDir;

    @Option(names = "--prompt", paramLabel = "TEXT", defaultValue = "The capital of France is",
            description = "prompt (default: ${DEFAULT-VALUE})")
    String prompt;

    @Option(names = "--max-tokens", paramLabel = "N", defaultValue = "32", description = "tokens to generate (default ${DEFAULT-VALUE})")
    int maxTokens;

    @Option(names = "--threads", paramLabel = "N", description = "CPU threads (default: all processors)")
    Integer threads;

    @Override
    public Integer call() throws IOException {
        if (maxTokens < 1) {
            throw new IllegalArgumentException("--max-tokens must be >= 1, got " + maxTokens);
        }
        Path file = ensureModel(cacheDir(cacheDir));
        System.out.println(RANDOM_NOTE);
        SamplingOptions sampling = new SamplingOptions();
        sampling.seed = 0L;   // the same text every run
        PromptOptions text = new PromptOptions();
        text.text = prompt;
        return GenerateCommand.run(file, threads, io.trillium.quant.Numerics.DEFAULT, text, maxTokens, List.of(), sampling, null);
    }

    /** The given directory, else ${XDG_CACHE_HOME:-~/.cache}/trillium. */
    static Path cacheDir(Path given) {
        if (given != null) {
            return given;
        }
        String xdg = System.getenv("XDG_CACHE_HOME");
        Path base = xdg != null && !xdg.isBlank() ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".cache");
        return base.resolve("trillium");
    }

    /** The demo model's shape: Kimi K2's layout, tiny. */
    static SynthSpec spec() {
        return SynthSpec.presetBuilder("ds2-tiny").name("trillium demo, Kimi K2 layout (random weights)")
                .hidden(256).layers(4).vocab(300).experts(16).used(4).weightType(GgmlType.Q8_0).seed(42).build();
    }

    /** Writes the demo model into {@code dir} unless it is there; returns its path. */
    static Path ensureModel(Path dir) throws IOException {
        Path file = dir.resolve(FILE_NAME);
        if (Files.exists(file)) {
            return file;
        }
        Files.createDirectories(dir);
        System.err.print("writing the demo model " + file + " (once) ... ");
        System.err.flush();
        // Written aside and moved: an interrupted run leaves no half file behind.
        Path tmp = dir.resolve(FILE_NAME + ".part");
        ModelSynthesizer.Result r = new ModelSynthesizer(spec()).overwrite(true).write(tmp);
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        System.err.printf(Locale.ROOT, "%s in %.1f s%n", SynthSpec.formatBytes(r.fileBytes()), r.time().toNanos() / 1e9);
        return file;
    }
}
