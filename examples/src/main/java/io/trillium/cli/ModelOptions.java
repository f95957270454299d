package io.trillium.cli;

import io.trillium.model.LanguageModel;
import io.trillium.model.Models;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.stream.Collectors;

/** The options every forward-pass command shares: the model file and the CPU threads. */
final class ModelOptions {

    @Option(names = "--model", required = true, paramLabel = "FILE",
            description = "GGUF model file (the first file of a split set opens all parts), or a safetensors checkpoint directory")
    Path model;

    @Option(names = "--threads", paramLabel = "N", description = "CPU threads (default: all processors)")
    Integer threads;

    @picocli.CommandLine.Mixin
    NumericsOptions numerics = new NumericsOptions();

    LanguageModel load(TierOptions tiers) throws IOException {
        if (!Files.exists(model)) {
            throw new IllegalArgumentException("--model " + model + ": no such file");
        }
        int n = threads != null ? threads : Runtime.getRuntime().availableProcessors();
        if (n < 1) {
            throw new IllegalArgumentException("--threads must be >= 1, got " + n);
        }
        return Models.load(model, tiers.backend(n, numerics.numerics()), tiers.placement(model, n), tiers.forward());
    }

    /** The prompt as the model's metadata asks (BOS when add_bos_token), special-token text kept plain. */
    static int[] encodePrompt(LanguageModel m, String prompt) {
        int[] ids = m.tokenizer().encode(prompt, true, false);
        if (ids.length == 0) {
            throw new IllegalArgumentException("the prompt has no tokens (empty text and no BOS)");
        }
        return ids;
    }

    /** Argmax, ties to the lowest id (as llama.cpp's greedy sampler). */
    static int argmax(float[] logits) {
        int best = 0;
        for (int i = 1; i < logits.length; i++) {
            if (logits[i] > logits[best]) {
                best = i;
            }
        }
        return best;
    }

    static String join(int[] ids) {
        return Arrays.stream(ids).mapToObj(Integer::toString).collect(Collectors.joining(" "));
    }
}
