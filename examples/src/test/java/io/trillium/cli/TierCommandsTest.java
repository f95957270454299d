package io.trillium.cli;

import io.trillium.fixtures.Fixtures;
import io.trillium.gguf.GgufFile;
import io.trillium.gguf.GgufTensorInfo;
import io.trillium.model.ModelConfig;
import io.trillium.moe.ExpertStats;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** The tier flags of the forward-pass commands, and {@code profile}. */
class TierCommandsTest {
    private static final Path MODEL = Fixtures.models().resolve("ds2-tiny-Q4_K_M.gguf");

    @TempDir
    Path tmp;

    /** Bytes of all routed experts of the fixture. */
    private static long expertBytes() throws IOException {
        try (GgufFile g = GgufFile.open(MODEL)) {
            return g.tensors().stream().filter(t -> t.name().contains("_exps.")).mapToLong(GgufTensorInfo::byteSize).sum();
        }
    }

    private static String greedyIds(String... tierFlags) {
        List<String> args = new java.util.ArrayList<>(List.of("generate", "--model", MODEL.toString(), "--prompt",
                "Hello tiers", "--max-tokens", "6", "--greedy", "--ids", "--threads", "2"));
        args.addAll(List.of(tierFlags));
        CliTest.Result r = CliTest.run(args.toArray(String[]::new));
        assertEquals(0, r.rc(), r.err());
        return r.out().lines().limit(2).toList().toString();   // the prompt ids and the generated ids
    }

    @Test
    void everyExpertTierGeneratesTheSameTokens() throws IOException {
        String want = greedyIds();
        String budget = Long.toString(expertBytes() / 3);
        assertEquals(want, greedyIds("--expert-tier", "pmem"));
        assertEquals(want, greedyIds("--expert-tier", "nvme", "--dram-budget", budget));
        assertEquals(want, greedyIds("--expert-tier", "nvme", "--dram-budget", budget, "--cache-policy", "lfu"));
    }

    @Test
    void gpuFlagFallsBackOnAutoAndFailsOnADeviceWithTheReason() {
        assertEquals(greedyIds(), greedyIds("--gpu", "auto"), "no usable GPU here: the CPU, same tokens");
        assertEquals(greedyIds(), greedyIds("--gpu", "off"));
        CliTest.Result r = CliTest.run("generate", "--model", MODEL.toString(), "--prompt", "x", "--max-tokens", "2",
                "--greedy", "--ids", "--gpu", "0");
        if (io.trillium.cuda.CudaSupport.probe().available()) {
            assertEquals(0, r.rc(), r.err());   // a GPU machine: device 0 works
        } else {
            assertEquals(1, r.rc(), r.out());
            assertTrue(r.err().contains("GPU 0 cannot be used") && r.err().contains("cuda"), r.err());
        }
        CliTest.Result bad = CliTest.run("generate", "--model", MODEL.toString(), "--prompt", "x", "--gpu", "banana");
        assertEquals(1, bad.rc());
        assertTrue(bad.err().contains("--gpu banana"), bad.err());
    }

    @Test
    void benchReportsTierTrafficAndMemory() throws IOException {
        CliTest.Result r = CliTest.run("bench", "--model", MODEL.toString(), "--threads", "2", "--prompt-tokens", "4",
                "--decode-tokens", "6", "--repeats", "1", "--probe-mib", "64", "--expert-tier", "nvme",
                "--dram-budget", Long.toString(expertBytes() / 3), "--decode-input", "random", "--stats", "--predict-experts");
        assertEquals(0, r.rc(), r.err());
        assertTrue(r.out().contains("experts: nvme tier, DRAM budget"), r.out());
        assertTrue(r.out().matches("(?s).*decode bytes/token: dram [0-9.]+ MiB nvme [0-9.]+ MiB\n.*"), r.out());
        assertTrue(r.out().matches("(?s).*expert cache: hit rate [0-9.]+%, read time hidden [0-9]+%.*"), r.out());
        assertTrue(r.out().contains("prediction: "), r.out());
        assertTrue(r.out().matches("(?s).*memory: RSS [0-9]+ MiB.*"), r.out());
        assertTrue(r.out().lines().toList().getLast().startsWith("decode: "), r.out());
    }

    @Test
    void badTierFlagsAreOneLineErrors() {
        String m = MODEL.toString();
        String[][] cases = {
                {"--expert-tier", "tape"}, {"--expert-tier", "nvme"}, {"--expert-tier", "nvme", "--dram-budget", "lots"},
                {"--expert-tier", "dram", "--dram-budget", "1k"}, {"--cache-policy", "mru"},
                {"--expert-tier", "nvme", "--dram-budget", "1k"},
                {"--expert-tier", "nvme", "--dram-budget", "1m", "--hot-experts", "/no/such/stats.json"}};
        String[] expect = {"--expert-tier tape", "--dram-budget", "--dram-budget", "more than the budget", "--cache-policy",
                "DRAM budget", "--hot-experts"};
        for (int i = 0; i < cases.length; i++) {
            List<String> args = new java.util.ArrayList<>(List.of("logits", "--model", m, "--prompt", "x", "--out",
                    tmp.resolve("l" + i + ".f32").toString()));
            args.addAll(List.of(cases[i]));
            CliTest.Result r = CliTest.run(args.toArray(String[]::new));
            assertEquals(1, r.rc(), String.join(" ", cases[i]) + ": " + r.out());
            assertTrue(r.err().contains(expect[i]), String.join(" ", cases[i]) + " -> " + r.err());
            assertFalse(Files.exists(tmp.resolve("l" + i + ".f32")));
        }
    }

    @Test
    void profileCountsEveryRoutedChoiceAndPinsFromIt() throws IOException {
        Path prompts = Files.writeString(tmp.resolve("prompts.txt"), "The quick brown fox\n\nIn the beginning\n");
        Path out = tmp.resolve("stats.json");
        CliTest.Result r = CliTest.run("profile", "--model", MODEL.toString(), "--prompts", prompts.toString(),
                "--out", out.toString(), "--max-tokens", "3", "--threads", "1");
        assertEquals(0, r.rc(), r.err());
        assertTrue(r.out().contains("2 prompts, "), r.out());
        ExpertStats s = ExpertStats.load(out);
        ModelConfig cfg;
        try (GgufFile g = GgufFile.open(MODEL)) {
            cfg = ModelConfig.fromGguf(g.metadata());
        }
        long tokens = -1;
        for (int l = 0; l < cfg.layers(); l++) {
            long sum = 0;
            for (int e = 0; e < cfg.experts(); e++) {
                sum += s.count(l, e);
            }
            if (!cfg.isMoeLayer(l)) {
                assertEquals(0, sum, "dense layer " + l);
                continue;
            }
            if (tokens < 0) {
                tokens = s.tokens(l);
            }
            assertEquals(tokens, s.tokens(l), "every MoE layer routes every token");
            assertEquals(tokens * cfg.expertsUsed(), sum, "layer " + l);
        }
        assertTrue(r.out().contains(" tokens in "), r.out());
        assertTrue(tokens > 6, "prompt tokens plus 2 x 3 generated: " + tokens);

        // refuses to overwrite; the statistics pin a hot set that generates the same tokens
        CliTest.Result again = CliTest.run("profile", "--model", MODEL.toString(), "--prompts", prompts.toString(),
                "--out", out.toString());
        assertEquals(1, again.rc());
        assertTrue(again.err().contains("--force"), again.err());
        assertEquals(greedyIds(), greedyIds("--expert-tier", "nvme", "--dram-budget",
                Long.toString(expertBytes() / 2), "--hot-experts", out.toString()));
    }
}
