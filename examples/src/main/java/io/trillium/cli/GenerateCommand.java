package io.trillium.cli;

import io.trillium.api.GenerationRequest;
import io.trillium.api.GenerationResult;
import io.trillium.api.Model;
import io.trillium.api.Session;
import io.trillium.model.LanguageModel;
import io.trillium.sample.Sampler;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

/**
 * {@code trillium generate [--model FILE] --prompt TEXT --max-tokens N [sampling flags] [--stop STR]}: streams the
 * continuation through the public API, then prints the metrics to stderr. {@code --greedy --ids} keeps the direct
 * forward-pass path (exactly N ids, EOS does not stop), which external checks rely on.
 */
@Command(name = "generate", mixinStandardHelpOptions = true,
        description = {"Continue the prompt, streaming the text; metrics go to stderr.",
                "Default sampling: temperature 0.8, top-p 0.95, random seed (printed; repeat a run with --seed).",
                "--greedy or --temperature 0 takes the most likely token, ties to the lowest id.",
                "With --greedy --ids: the prompt ids on line 1, the N generated ids on line 2 (EOS does not stop), then the text.",
                "Without --model: the demo model (random weights, see `trillium demo`)."})
final class GenerateCommand implements Callable<Integer> {

    @Option(names = "--model", paramLabel = "FILE",
            description = "GGUF model file (the first file of a split set opens all parts); default: the demo model")
    Path modelFile;

    @Option(names = "--threads", paramLabel = "N", description = "CPU threads (default: all processors)")
    Integer threads;

    @Mixin
    NumericsOptions numerics;

    @picocli.CommandLine.ArgGroup(exclusive = true, multiplicity = "1")
    PromptOptions prompt;

    @Option(names = "--max-tokens", paramLabel = "N", defaultValue = "64", description = "tokens to generate (default ${DEFAULT-VALUE})")
    int maxTokens;

    @Option(names = "--stop", paramLabel = "STR", description = "stop before this text (repeatable)")
    List<String> stop = new ArrayList<>();

    @Option(names = "--ids", description = "with --greedy: print the prompt ids and the generated ids before the text")
    boolean ids;

    @Option(names = "--cache-dir", paramLabel = "DIR", description = "demo model directory when no --model "
            + "(default: ${XDG_CACHE_HOME:-~/.cache}/trillium)")
    Path cacheDir;

    @Mixin
    SamplingOptions sampling;

    @Mixin
    TierOptions tiers;

    @Override
    public Integer call() throws IOException {
        if (maxTokens < 1) {
            throw new IllegalArgumentException("--max-tokens must be >= 1, got " + maxTokens);
        }
        if (ids) {
            if (!sampling.greedy) {
                throw new IllegalArgumentException("--ids needs --greedy");
            }
            return greedyIds();
        }
        Path file = modelFile;
        if (file == null) {
            file = DemoCommand.ensureModel(DemoCommand.cacheDir(cacheDir));
            System.err.println(DemoCommand.RANDOM_NOTE);
        }
        return run(file, threads, numerics.numerics(), prompt, maxTokens, stop, sampling, tiers);
    }

    /** One streamed generation through the API; shared with the demo command. */
    static int run(Path file, Integer threads, io.trillium.quant.Numerics numerics, PromptOptions prompt, int maxTokens,
                   List<String> stop, SamplingOptions sampling, TierOptions tiers) {
        Sampler sampler = sampling.sampler();
        long seed = sampling.seed();
        try (Model m = ApiSupport.load(file, threads, numerics, tiers)) {
            int[] ids = prompt.ids(m.info().vocabularySize());
            int promptLength = ids != null ? ids.length : m.tokenizer().encode(prompt.text, true, false).length;
            try (Session s = m.newSession(ApiSupport.contextLength(m, promptLength + maxTokens))) {
                GenerationRequest.Builder b = ids != null ? GenerationRequest.builder().prompt(ids)
                        : GenerationRequest.builder().prompt(prompt.text);
                GenerationRequest req = b.maxTokens(maxTokens)
                        .stop(stop.toArray(String[]::new)).sampler(sampler).seed(seed).build();
                GenerationResult r = s.generate(req, ApiSupport.streamTo(System.out));
                ApiSupport.write(System.out, "\n");
                System.err.println("finish: " + r.finishReason().name().toLowerCase(Locale.ROOT) + ", seed " + seed);
                ApiSupport.printMetrics(System.err, r.metrics());
                ApiSupport.printTiers(System.err, tiers, m);
            }
        }
        return 0;
    }

    /** The pre-API path: exactly N greedy ids from the forward pass, EOS included. */
    private int greedyIds() throws IOException {
        if (modelFile == null) {
            throw new IllegalArgumentException("--ids needs --model");
        }
        ModelOptions model = new ModelOptions();
        model.model = modelFile;
        model.threads = threads;
        model.numerics = numerics;
        PrintStream out = System.out;
        try (LanguageModel m = model.load(tiers)) {
            int[] prompt = this.prompt.encode(m);
            // the last generated token is never fed back
            LanguageModel.State state = m.newState(prompt.length + maxTokens - 1);
            int[] generated = new int[maxTokens];
            float[] logits = m.forward(state, prompt);
            for (int n = 0; n < maxTokens; n++) {
                generated[n] = ModelOptions.argmax(logits);
                if (n + 1 < maxTokens) {
                    logits = m.forward(state, new int[] {generated[n]});
                }
            }
            write(out, ModelOptions.join(prompt) + "\n" + ModelOptions.join(generated) + "\n"
                    + m.tokenizer().decode(generated) + "\n");
            tiers.print(System.err, m);
            return 0;
        }
    }

    /** Raw UTF-8: the platform encoding of System.out may not hold every character. */
    private static void write(PrintStream out, String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        out.write(b, 0, b.length);
        out.flush();
    }
}
