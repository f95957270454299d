package io.trillium.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.trillium.gguf.GgufFile;
import io.trillium.model.ModelConfig;
import io.trillium.model.WeightBytes;
import io.trillium.moe.ExpertStats;
import io.trillium.plan.Placement;
import io.trillium.plan.PlacementPlanner;
import io.trillium.plan.TierSpec;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

/**
 * {@code trillium plan --model F --vram 12g --vram-bw 360g --dram 192g --dram-bw 100g --pmem /mnt/pmem --pmem-bw 39g}:
 * where every tensor of a model goes on the given tiers and the tokens/s that predicts. Reads the
 * tensor table only, never the weights.
 */
@Command(name = "plan", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Place a model's tensors on memory tiers and predict bytes per token and tokens/s.",
                "Reads the tensor table only (a `synth --no-data` file will do). Sizes are binary (8g = 8 GiB),",
                "bandwidths decimal (39g = 39 GB/s): measure them with `trillium bench-tier PATH` or take data-sheet figures.",
                "Prediction: a token reads its always-active bytes and, per MoE layer, Σ P(chosen)·expert bytes;",
                "time per token = Σ over tiers of bytes / bandwidth (serial), bound when tiers overlap = the slowest tier."})
final class PlanCommand implements Callable<Integer> {

    @Option(names = "--model", required = true, paramLabel = "FILE", description = "GGUF model file (first part of a split set)")
    Path model;

    @Option(names = "--stats", paramLabel = "FILE", description = "expert statistics JSON (trillium profile); default: uniform routing")
    Path stats;

    @Option(names = "--vram", paramLabel = "SIZE", description = "GPU memory for the model") String vram;
    @Option(names = "--vram-bw", paramLabel = "RATE", description = "GPU memory bandwidth, e.g. 360g") String vramBw;
    @Option(names = "--dram", paramLabel = "SIZE", description = "DRAM for the model (leave room for the OS)") String dram;
    @Option(names = "--dram-bw", paramLabel = "RATE", description = "DRAM read bandwidth, e.g. 100g") String dramBw;
    @Option(names = "--pmem", paramLabel = "PATH", description = "PMem (DAX) mount or directory") Path pmem;
    @Option(names = "--pmem-size", paramLabel = "SIZE", description = "PMem capacity (default: usable space at PATH)") String pmemSize;
    @Option(names = "--pmem-bw", paramLabel = "RATE", description = "PMem read bandwidth, e.g. 39g") String pmemBw;
    @Option(names = "--nvme", paramLabel = "PATH", description = "NVMe directory") Path nvme;
    @Option(names = "--nvme-size", paramLabel = "SIZE", description = "NVMe capacity (default: usable space at PATH)") String nvmeSize;
    @Option(names = "--nvme-bw", paramLabel = "RATE", description = "NVMe read bandwidth, e.g. 3g") String nvmeBw;

    @Option(names = "--reserve", paramLabel = "SIZE", defaultValue = "1g",
            description = "kept free on the fastest tier for the KV cache and runtime (default ${DEFAULT-VALUE})")
    String reserve;

    @Option(names = "--out", paramLabel = "FILE", description = "also write the plan as JSON (every tensor's and expert's tier)")
    Path out;

    @Option(names = "--force", description = "replace --out FILE if it exists")
    boolean force;

    @Override
    public Integer call() throws IOException {
        if (!Files.isRegularFile(model)) {
            throw new IllegalArgumentException("--model " + model + ": no such file");
        }
        if (out != null && !force && Files.exists(out)) {
            throw new IllegalArgumentException(out + " exists (--force replaces it)");
        }
        if (io.trillium.safetensors.SafetensorsCheckpoint.isCheckpoint(model)) {
            throw new IllegalArgumentException("--model " + model + ": a safetensors checkpoint; this command reads "
                    + "GGUF expert stacks (checkpoint experts are mapped in place)");
        }
        try (GgufFile gguf = GgufFile.open(model)) {
            List<TierSpec> tiers = new ArrayList<>();
            memoryTier(tiers, "vram", vram, vramBw, "a data-sheet figure, e.g. --vram-bw 360g for an RTX 3060");
            memoryTier(tiers, "dram", dram, dramBw, "the read bandwidth `trillium bench` prints, e.g. --dram-bw 100g");
            pathTier(tiers, "pmem", pmem, pmemSize, pmemBw, gguf);
            pathTier(tiers, "nvme", nvme, nvmeSize, nvmeBw, gguf);
            if (tiers.isEmpty()) {
                throw new IllegalArgumentException("give at least one tier: --vram, --dram, --pmem or --nvme");
            }
            ModelConfig cfg = ModelConfig.fromGguf(gguf.metadata());
            ExpertStats st = stats == null ? null : ExpertStats.load(stats);
            Placement p;
            try {
                p = PlacementPlanner.plan(gguf.tensors(), cfg, tiers, st, Sizes.bytes("--reserve", reserve));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(model.getFileName() + (stats != null ? " with " + stats.getFileName() : "")
                        + ": " + e.getMessage(), e);
            }
            print(System.out, gguf, cfg, p);
            if (out != null) {
                byte[] json = new ObjectMapper().writerWithDefaultPrettyPrinter().writeValueAsBytes(json(p));
                if (force) {
                    Files.write(out, json);
                } else {
                    Files.write(out, json, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
                }
                System.out.println("wrote " + out);
            }
            return 0;
        }
    }

    private static void memoryTier(List<TierSpec> tiers, String name, String size, String bw, String hint) {
        if (size == null) {
            if (bw != null) {
                throw new IllegalArgumentException("--" + name + "-bw without --" + name + " SIZE");
            }
            return;
        }
        tiers.add(new TierSpec(name, Sizes.bytes("--" + name, size), bandwidth(name, bw, hint), null));
    }

    /** A file-system tier: capacity given, or the usable space at PATH plus the model bytes already there. */
    private static void pathTier(List<TierSpec> tiers, String name, Path path, String size, String bw, GgufFile gguf)
            throws IOException {
        if (path == null && size == null) {
            if (bw != null) {
                throw new IllegalArgumentException("--" + name + "-bw without --" + name + " PATH or --" + name + "-size");
            }
            return;
        }
        if (path != null && !Files.exists(path)) {
            throw new IllegalArgumentException("--" + name + " " + path + ": no such file or directory");
        }
        long capacity;
        if (size != null) {
            capacity = Sizes.bytes("--" + name + "-size", size);
        } else {
            FileStore store = Files.getFileStore(path);
            capacity = store.getUsableSpace();
            for (Path f : gguf.files()) {
                if (Files.getFileStore(f).equals(store)) {
                    capacity += Files.size(f);   // the model already lies there
                }
            }
        }
        tiers.add(new TierSpec(name, capacity, bandwidth(name, bw,
                "measure it with `trillium bench-tier " + (path != null ? path : "PATH") + "`"), path));
    }

    private static double bandwidth(String name, String bw, String hint) {
        if (bw == null) {
            throw new IllegalArgumentException("--" + name + "-bw RATE is needed (bytes/s, e.g. 39g = 39 GB/s): " + hint);
        }
        return Sizes.bytesPerSecond("--" + name + "-bw", bw);
    }

    static void print(PrintStream o, GgufFile gguf, ModelConfig cfg, Placement p) {
        WeightBytes wb = WeightBytes.of(gguf, cfg);
        o.printf(Locale.ROOT, "model: %s (%s, %d layers, %d experts, %d used), %d tensors, %s%n",
                gguf.files().getFirst().getFileName(), cfg.arch(), cfg.layers(), cfg.experts(), cfg.expertsUsed(),
                gguf.tensors().size(), InspectCommand.human(wb.total()));
        o.printf(Locale.ROOT, "routed experts: %s; read per token: %s%n", InspectCommand.human(wb.routedExperts()),
                InspectCommand.human(Math.round(p.readPerToken())));
        o.println(p.fromStats() ? "popularity: from expert statistics"
                : String.format(Locale.ROOT, "popularity: uniform (each expert chosen with p = %d/%d)", cfg.expertsUsed(),
                cfg.experts()));
        if (gguf.hasTensor("token_embd.weight")) {
            o.printf("token_embd: on %s; a token reads one row of it%n", p.tierOf("token_embd.weight"));
        }
        p.notes().forEach(n -> o.println("note: " + n));
        o.println();
        String row = "%-5s  %10s  %11s  %10s  %13s  %19s  %10s  %11s  %6s%n";
        o.printf(Locale.ROOT, row, "tier", "capacity", "bandwidth", "reserved", "always-active", "experts (count)",
                "read/token", "time/token", "share");
        double total = p.secondsPerToken();
        for (Placement.Use u : p.tiers()) {
            o.printf(Locale.ROOT, row, u.tier().name(), InspectCommand.human(u.tier().capacity()),
                    String.format(Locale.ROOT, "%.1f GB/s", u.tier().bandwidth() / 1e9), InspectCommand.human(u.reserved()),
                    InspectCommand.human(u.alwaysActiveBytes()),
                    InspectCommand.human(u.expertBytes()) + " (" + u.expertCount() + ")",
                    InspectCommand.human(Math.round(u.readPerToken())),
                    String.format(Locale.ROOT, "%.2f ms", u.secondsPerToken() * 1e3),
                    String.format(Locale.ROOT, "%.1f%%", 100 * u.secondsPerToken() / total));
        }
        o.println();
        o.printf(Locale.ROOT, "predicted: %.2f tok/s (serial: the tiers read one after another, %.2f ms/token)%n",
                p.tokensPerSecond(), total * 1e3);
        o.printf(Locale.ROOT, "bound if the tiers overlap: %.2f tok/s (%s alone, %.2f ms/token)%n",
                p.overlappedTokensPerSecond(), p.bottleneck().tier().name(), p.overlappedSecondsPerToken() * 1e3);
        o.println("bandwidth model only: compute, latency and cache misses are not counted");
    }

    private static ObjectNode json(Placement p) {
        ObjectNode root = new ObjectMapper().createObjectNode();
        root.put("format", "trillium-plan");
        root.put("version", 1);
        root.put("tokensPerSecond", p.tokensPerSecond());
        root.put("overlappedTokensPerSecond", p.overlappedTokensPerSecond());
        root.put("readPerToken", p.readPerToken());
        ArrayNode tiers = root.putArray("tiers");
        for (Placement.Use u : p.tiers()) {
            ObjectNode t = tiers.addObject();
            t.put("name", u.tier().name());
            t.put("capacity", u.tier().capacity());
            t.put("bandwidth", u.tier().bandwidth());
            if (u.tier().path() != null) {
                t.put("path", u.tier().path().toString());
            }
            t.put("reserved", u.reserved());
            t.put("alwaysActiveBytes", u.alwaysActiveBytes());
            t.put("expertBytes", u.expertBytes());
            t.put("experts", u.expertCount());
            t.put("readPerToken", u.readPerToken());
            t.put("secondsPerToken", u.secondsPerToken());
        }
        ObjectNode tensors = root.putObject("tensors");
        p.tensors().forEach(tensors::put);
        ArrayNode experts = root.putArray("experts");   // per layer: each expert's tier name, null for dense layers
        for (int[] layer : p.experts()) {
            if (layer == null) {
                experts.addNull();
                continue;
            }
            ArrayNode a = experts.addArray();
            for (int tier : layer) {
                a.add(p.tiers().get(tier).tier().name());
            }
        }
        return root;
    }
}
