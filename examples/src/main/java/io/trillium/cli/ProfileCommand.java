package io.trillium.cli;

import io.trillium.model.LanguageModel;
import io.trillium.moe.ExpertStats;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

/**
 * {@code trillium profile --model F --prompts FILE --out stats.json}: how often each expert is chosen
 * over a prompt set (each prompt, then greedy continuation), for the pinned hot set, the planner and
 * {@code repack}.
 */
@Command(name = "profile", mixinStandardHelpOptions = true,
        description = {"Count how often the router chooses each expert over a set of prompts (one per line),",
                "each followed by --max-tokens greedy tokens, and write the counts as JSON (trillium-expert-stats)."})
final class ProfileCommand implements Callable<Integer> {
    @Mixin
    ModelOptions model;

    @Option(names = "--prompts", required = true, paramLabel = "FILE", description = "prompts, one per line (blank lines skipped)")
    Path prompts;

    @Option(names = "--out", required = true, paramLabel = "STATS.json", description = "output (must not exist unless --force)")
    Path out;

    @Option(names = "--max-tokens", paramLabel = "N", defaultValue = "16",
            description = "greedy tokens generated after each prompt (default ${DEFAULT-VALUE})")
    int maxTokens;

    @Option(names = "--force", description = "overwrite OUT if it exists")
    boolean force;

    @Mixin
    TierOptions tiers;

    @Override
    public Integer call() throws IOException {
        if (maxTokens < 0) {
            throw new IllegalArgumentException("--max-tokens must be >= 0, got " + maxTokens);
        }
        if (!Files.isRegularFile(prompts)) {
            throw new IllegalArgumentException("--prompts " + prompts + ": no such file");
        }
        if (Files.exists(out) && !force) {
            throw new IllegalArgumentException(out + " exists; pass --force to overwrite it");
        }
        List<String> lines = Files.readAllLines(prompts, StandardCharsets.UTF_8).stream()
                .filter(l -> !l.isBlank()).toList();
        if (lines.isEmpty()) {
            throw new IllegalArgumentException("--prompts " + prompts + ": no prompts (all lines blank)");
        }
        long t0 = System.nanoTime();
        try (LanguageModel m = model.load(tiers)) {
            if (m.prefetcher() == null) {
                throw new IllegalArgumentException("--model " + model.model + ": a dense model has no experts to profile");
            }
            int tokens = 0;
            for (String line : lines) {
                int[] ids = ModelOptions.encodePrompt(m, line);
                int ctx = Math.min(m.config().contextLength(), ids.length + maxTokens);
                if (ids.length > ctx) {
                    ids = java.util.Arrays.copyOf(ids, ctx);   // a prompt longer than the context: its head
                }
                LanguageModel.State s = m.newState(ctx);
                float[] logits = m.forward(s, ids);
                tokens += ids.length;
                for (int i = 0; i < maxTokens && s.position() < ctx; i++) {
                    logits = m.forward(s, new int[] {ModelOptions.argmax(logits)});
                    tokens++;
                }
            }
            ExpertStats stats = m.prefetcher().stats();
            Path tmp = out.toAbsolutePath().resolveSibling(out.getFileName() + ".part");
            stats.save(tmp, true);
            Files.move(tmp, out, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            double top = topShare(stats, m.config().expertsUsed());
            System.out.printf(Locale.ROOT, "%d prompts, %d tokens in %.1f s -> %s%n", lines.size(), tokens,
                    (System.nanoTime() - t0) / 1e9, out);
            System.out.printf(Locale.ROOT, "the %d most chosen experts of each layer took %.1f%% of its choices "
                    + "(uniform: %.1f%%)%n", m.config().expertsUsed(), 100 * top,
                    100.0 * m.config().expertsUsed() / m.config().experts());
            tiers.print(System.err, m);
        }
        return 0;
    }

    /** Share of choices taken by the {@code k} most chosen experts, averaged over the routed layers. */
    static double topShare(ExpertStats s, int k) {
        double sum = 0;
        int layers = 0;
        for (int l = 0; l < s.layers(); l++) {
            if (s.tokens(l) == 0) {
                continue;
            }
            long total = 0;
            long top = 0;
            int[] order = s.byPopularity(l);
            for (int i = 0; i < order.length; i++) {
                long c = s.count(l, order[i]);
                total += c;
                if (i < k) {
                    top += c;
                }
            }
            sum += (double) top / total;
            layers++;
        }
        return layers == 0 ? 0 : sum / layers;
    }
}
