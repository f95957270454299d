package io.trillium.cli;

import io.trillium.api.LoadOptions;
import io.trillium.api.Metrics;
import io.trillium.api.Model;
import io.trillium.api.Token;
import io.trillium.api.TokenListener;
import io.trillium.api.Trillium;

import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/** Loading with a progress line, streaming and metrics for the API-based commands. */
final class ApiSupport {
    /** Session context when the model's trained one is larger (the KV cache is allocated up front). */
    static final int DEFAULT_CONTEXT = 4096;

    private ApiSupport() {
    }

    /** Loads the model; "loading FILE ... done in X s" goes to stderr. */
    static Model load(Path file, Integer threads, io.trillium.quant.Numerics numerics, TierOptions tiers) {
        if (!Files.exists(file)) {
            throw new IllegalArgumentException("--model " + file + ": no such file");
        }
        int n = threads != null ? threads : Runtime.getRuntime().availableProcessors();
        if (n < 1) {
            throw new IllegalArgumentException("--threads must be >= 1, got " + n);
        }
        PrintStream err = System.err;
        err.print("loading " + file.getFileName() + " ... ");
        err.flush();
        long t0 = System.nanoTime();
        LoadOptions.Builder b = LoadOptions.builder().threads(n).numerics(numerics);
        Model m = Trillium.load(file, (tiers != null ? tiers.apply(b) : b).build());
        err.printf(Locale.ROOT, "done in %.1f s%n", (System.nanoTime() - t0) / 1e9);
        return m;
    }

    /** The session context: the model's trained one, capped at {@link #DEFAULT_CONTEXT} unless more is needed. */
    static int contextLength(Model m, int needed) {
        return Math.max(Math.min(m.info().contextLength(), DEFAULT_CONTEXT), needed);
    }

    /** Prints each token's text to stdout as it comes. */
    static TokenListener streamTo(PrintStream out) {
        return (Token t) -> write(out, t.text());
    }

    /** With {@code --stats}: bytes per token by tier, the expert cache and the prediction. */
    static void printTiers(PrintStream err, TierOptions tiers, Model m) {
        if (tiers != null && tiers.stats) {
            err.print(m.tierReport().format());
        }
    }

    static void printMetrics(PrintStream err, Metrics m) {
        err.printf(Locale.ROOT, "prompt: %d tokens (%d cached), %.1f tok/s | decode: %d tokens, %.1f tok/s | "
                        + "time to first token: %.0f ms%n",
                m.promptTokens(), m.cachedPromptTokens(), m.promptTokensPerSecond(), m.generatedTokens(),
                m.decodeTokensPerSecond(), m.timeToFirstToken().toNanos() / 1e6);
    }

    /** Raw UTF-8: the platform encoding of System.out may not hold every character. */
    static void write(PrintStream out, String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        out.write(b, 0, b.length);
        out.flush();
    }
}
