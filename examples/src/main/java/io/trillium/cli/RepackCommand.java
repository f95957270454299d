package io.trillium.cli;

import io.trillium.gguf.GgufFile;
import io.trillium.model.ModelConfig;
import io.trillium.moe.ExpertStats;
import io.trillium.synth.SynthSpec;
import io.trillium.tier.RepackedLayout;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;

/**
 * {@code trillium repack --model F [--stats stats.json] [--out FILE]}: writes the routed experts
 * expert-major (gate, up and down of one expert contiguous and 4 KiB-aligned, most popular first), so
 * that the NVMe tier reads one expert with one direct read. Without --out the file is
 * {@code MODEL.experts} beside the model, which the NVMe placement then picks up by itself.
 */
@Command(name = "repack", mixinStandardHelpOptions = true,
        description = {"Write a model's routed experts expert-major: each expert's gate/up/down contiguous and",
                "4 KiB-aligned, in popularity order per layer (with --stats), so that one expert is one read.",
                "Without --out it writes MODEL.experts beside the model, which the NVMe tier uses when present."})
final class RepackCommand implements Callable<Integer> {

    @Option(names = "--model", required = true, paramLabel = "FILE", description = "GGUF model with routed experts")
    Path model;

    @Option(names = "--stats", paramLabel = "FILE", description = "expert statistics JSON (trillium profile); "
            + "without it, experts stay in id order")
    Path stats;

    @Option(names = "--out", paramLabel = "FILE", description = "the file to write (default: MODEL.experts); "
            + "an existing file is never replaced")
    Path out;

    @Override
    public Integer call() throws Exception {
        if (!Files.exists(model)) {
            throw new IllegalArgumentException("--model " + model + ": no such file");
        }
        Path to = out != null ? out : RepackedLayout.beside(model);
        if (Files.exists(to)) {
            throw new IllegalArgumentException(to + " exists (remove it to repack again)");
        }
        ExpertStats st = stats != null ? ExpertStats.load(stats) : null;
        long start = System.nanoTime();
        if (io.trillium.safetensors.SafetensorsCheckpoint.isCheckpoint(model)) {
            throw new IllegalArgumentException("--model " + model + ": a safetensors checkpoint; this command reads "
                    + "GGUF expert stacks (checkpoint experts are mapped in place)");
        }
        try (GgufFile gguf = GgufFile.open(model)) {
            ModelConfig c = ModelConfig.fromGguf(gguf.metadata());
            boolean[] moe = new boolean[c.layers()];
            int n = 0;
            for (int l = 0; l < moe.length; l++) {
                moe[l] = c.isMoeLayer(l);
                n += moe[l] ? 1 : 0;
            }
            if (n == 0) {
                throw new IllegalArgumentException(model + " has no routed experts to repack");
            }
            RepackedLayout.write(gguf, moe, c.experts(), st, to);
            long bytes = Files.size(to);
            double sec = (System.nanoTime() - start) / 1e9;
            System.out.printf(Locale.ROOT, "wrote %s: %d MoE layers x %d experts, %s, %s, in %.1f s (%.0f MiB/s)%n",
                    to, n, c.experts(), st != null ? "most popular first" : "id order", SynthSpec.formatBytes(bytes),
                    sec, bytes / 1048576.0 / Math.max(sec, 1e-9));
        }
        return 0;
    }
}
