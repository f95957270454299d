package io.trillium.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.trillium.fixtures.Fixtures;
import io.trillium.gguf.GgufFile;
import io.trillium.model.ModelConfig;
import io.trillium.model.WeightBytes;
import io.trillium.moe.ExpertStats;
import io.trillium.synth.SynthSpec;
import io.trillium.synth.SynthTensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

class PlanCommandTest {

    @TempDir
    Path tmp;

    private Path smallModel() {
        Path f = tmp.resolve("small.gguf");
        CliTest.Result r = CliTest.run("synth", "--preset", "ds2-tiny", "--layers", "3", "--vocab", "1000", "--type", "Q8_0",
                "--out", f.toString());
        assertEquals(0, r.rc(), r.err());
        return f;
    }

    private static String line(String out, String start) {
        return out.lines().filter(l -> l.startsWith(start)).findFirst().orElseThrow(() -> new AssertionError(start + " in\n" + out));
    }

    @Test
    void oneTierPredictsBandwidthOverActiveBytes() throws IOException {
        Path f = smallModel();
        CliTest.Result r = CliTest.run("plan", "--model", f.toString(), "--dram", "1g", "--dram-bw", "2g", "--reserve", "0");
        assertEquals(0, r.rc(), r.err());
        try (GgufFile g = GgufFile.open(f)) {
            WeightBytes wb = WeightBytes.of(g, ModelConfig.fromGguf(g.metadata()));
            assertEquals(String.format(Locale.ROOT, "predicted: %.2f tok/s (serial: the tiers read one after another, %.2f ms/token)",
                    2e9 / wb.activePerToken(), wb.activePerToken() / 2e6), line(r.out(), "predicted:"));
            assertTrue(line(r.out(), "dram ").contains(InspectCommand.human(wb.activePerToken())), r.out());
            assertTrue(line(r.out(), "dram ").endsWith("100.0%"), r.out());
        }
        assertTrue(line(r.out(), "tier ").matches("tier +capacity +bandwidth +reserved +always-active +experts \\(count\\) "
                + "+read/token +time/token +share"), r.out());
        assertEquals("popularity: uniform (each expert chosen with p = 4/16)", line(r.out(), "popularity:"));
    }

    @Test
    void twoTiersWithStatsAndJson() throws IOException {
        Path f = smallModel();
        // ds2-tiny with 3 layers: layer 0 dense, layers 1 and 2 with 16 experts, 4 used
        ExpertStats s = new ExpertStats(3, 16);
        for (int i = 0; i < 10; i++) {
            s.record(1, new int[]{0, 1, 2, 3}, 4);
            s.record(2, new int[]{12, 13, 14, 15}, 4);
        }
        Path stats = tmp.resolve("stats.json");
        s.save(stats, false);
        Path json = tmp.resolve("plan.json");
        CliTest.Result r = CliTest.run("plan", "--model", f.toString(), "--stats", stats.toString(), "--vram", "8m",
                "--vram-bw", "360g", "--dram", "1g", "--dram-bw", "100g", "--reserve", "1m", "--out", json.toString());
        assertEquals(0, r.rc(), r.err());
        assertEquals("popularity: from expert statistics", line(r.out(), "popularity:"));
        JsonNode plan = new ObjectMapper().readTree(json.toFile());
        assertEquals("vram", plan.at("/tiers/0/name").asText());
        assertEquals("dram", plan.at("/tiers/1/name").asText());
        assertTrue(plan.at("/experts/0").isNull(), "layer 0 is dense");
        for (int e = 0; e < 4; e++) {
            assertEquals("vram", plan.at("/experts/1/" + e).asText(), "chosen by every token");
            assertEquals("vram", plan.at("/experts/2/" + (12 + e)).asText(), "chosen by every token");
        }
        assertEquals("vram", plan.at("/tensors/blk.1.attn_q_a.weight").asText());
        // every chosen expert is in VRAM, so DRAM serves only what is never read: one row of token_embd at most
        assertTrue(plan.at("/tiers/1/readPerToken").asDouble() <= 1000, plan.toString().substring(0, 400));

        CliTest.Result again = CliTest.run("plan", "--model", f.toString(), "--dram", "1g", "--dram-bw", "1g",
                "--out", json.toString());
        assertEquals(1, again.rc());
        assertTrue(again.err().contains("exists"), again.err());
    }

    /** The full Kimi K2.5 inventory, data-less: planned from the tensor table alone. */
    @Test
    void kimiK25NoDataFile() throws IOException {
        Path f = tmp.resolve("kimi-k2.5.gguf");
        CliTest.Result w = CliTest.run("synth", "--preset", "kimi-k2.5", "--no-data", "--out", f.toString());
        assertEquals(0, w.rc(), w.err());
        assertTrue(w.out().contains("shapes only"), w.out());
        SynthSpec spec = SynthSpec.preset("kimi-k2.5");
        CliTest.Result r = CliTest.run("plan", "--model", f.toString(), "--vram", "12g", "--vram-bw", "360g",
                "--dram", "192g", "--dram-bw", "100g", "--pmem-size", "768g", "--pmem-bw", "39g");
        assertEquals(0, r.rc(), r.err());
        // SynthSpec counts what a token reads on its own (uniform routing: `used` experts per layer)
        assertTrue(line(r.out(), "routed experts:").endsWith("read per token: "
                + SynthSpec.formatBytes(spec.activeBytesPerToken())), r.out());
        long alwaysActive = spec.tensors().stream()
                .filter(t -> t.experts() == 0 && !t.name().equals("token_embd.weight")).mapToLong(SynthTensor::bytes).sum();
        String vram = line(r.out(), "vram ");
        assertTrue(vram.contains(" " + InspectCommand.human(alwaysActive) + " "), "attention, shared experts, dense, head in VRAM:\n" + r.out());
        long experts = 0;
        for (String tier : List.of("vram ", "dram ", "pmem ")) {
            String l = line(r.out(), tier);
            experts += Long.parseLong(l.replaceFirst(".*\\((\\d+)\\).*", "$1"));
        }
        assertEquals(60L * 384, experts, "every routed expert placed once");
        assertEquals("token_embd: on pmem; a token reads one row of it", line(r.out(), "token_embd:"));
        assertTrue(line(r.out(), "predicted:").matches("predicted: \\d+\\.\\d\\d tok/s .*"), r.out());
        long used = Fixtures.allocatedBytes(f);
        assertTrue(used < 64L << 20 || used < 0, "still sparse: " + used);
        Files.delete(f);
    }

    @Test
    void errorsAreOneClearLine() throws IOException {
        Path f = smallModel();
        Path badStats = tmp.resolve("bad-stats.json");
        new ExpertStats(5, 7).save(badStats, false);
        String m = f.toString();
        for (List<String> args : List.of(
                List.of("--model", m, "--pmem-size", "1t"),
                List.of("--model", m, "--dram", "12x", "--dram-bw", "1g"),
                List.of("--model", m, "--dram", "1m", "--dram-bw", "1g", "--reserve", "0"),
                List.of("--model", m, "--dram", "1g", "--dram-bw", "1g", "--stats", badStats.toString()),
                List.of("--model", m, "--dram-bw", "1g"),
                List.of("--model", m),
                List.of("--model", m, "--nvme", tmp.resolve("nope").toString(), "--nvme-bw", "3g"),
                List.of("--model", tmp.resolve("missing.gguf").toString(), "--dram", "1g", "--dram-bw", "1g"))) {
            CliTest.Result r = CliTest.run(Stream.concat(Stream.of("plan"), args.stream()).toArray(String[]::new));
            assertEquals(1, r.rc(), args + ": " + r.out());
            assertTrue(r.err().startsWith("trillium plan: "), args + ": " + r.err());
            assertEquals(1, r.err().strip().lines().count(), r.err());
        }
        CliTest.Result bw = CliTest.run("plan", "--model", m, "--pmem-size", "1t");
        assertTrue(bw.err().contains("--pmem-bw RATE is needed") && bw.err().contains("trillium bench-tier"), bw.err());
        CliTest.Result fit = CliTest.run("plan", "--model", m, "--dram", "1m", "--dram-bw", "1g", "--reserve", "0");
        assertTrue(fit.err().contains("but the tiers hold 1.00 MiB (dram 1.00 MiB - reserve 0 B): short by"), fit.err());
        CliTest.Result st = CliTest.run("plan", "--model", m, "--dram", "1g", "--dram-bw", "1g", "--stats", badStats.toString());
        assertTrue(st.err().contains("expert stats are for 5 layers x 7 experts, the model has 3 layers x 16 experts"), st.err());
    }
}
