package io.trillium.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

class SynthCommandTest {

    @TempDir
    Path tmp;

    @Test
    void writesAFileInspectReadsAndRefusesToOverwrite() throws IOException {
        Path f = tmp.resolve("m.gguf");
        CliTest.Result r = CliTest.run("synth", "--arch", "deepseek2", "--preset", "ds2-tiny", "--layers", "2",
                "--vocab", "1000", "--type", "Q8_0", "--seed", "3", "--out", f.toString());
        assertEquals(0, r.rc(), r.err());
        assertTrue(r.out().contains("arch deepseek2"), r.out());
        assertTrue(r.out().contains("params:"), r.out());
        assertTrue(r.out().contains("wrote " + f), r.out());

        CliTest.Result i = CliTest.run("inspect", f.toString());
        assertEquals(0, i.rc(), i.err());
        assertTrue(i.out().contains("deepseek2.block_count: uint32 = 2"), i.out());
        assertTrue(i.out().contains("blk.1.ffn_down_exps.weight"), i.out());
        assertTrue(i.out().contains("Q8_0"), i.out());

        byte[] before = Files.readAllBytes(f);
        CliTest.Result again = CliTest.run("synth", "--preset", "ds2-tiny", "--seed", "4", "--out", f.toString());
        assertEquals(1, again.rc());
        assertTrue(again.err().contains("exists"), again.err());
        assertArrayEquals(before, Files.readAllBytes(f), "untouched");

        CliTest.Result forced = CliTest.run("synth", "--preset", "llama-tiny", "--out", f.toString(), "--force");
        assertEquals(0, forced.rc(), forced.err());
        CliTest.Result i2 = CliTest.run("inspect", f.toString());
        assertTrue(i2.out().contains("general.architecture: string = \"llama\""), i2.out());
    }

    @Test
    void hotExpertsSkewTheRouter() throws IOException {
        Path plain = tmp.resolve("plain.gguf");
        Path hot = tmp.resolve("hot.gguf");
        List<String> base = List.of("synth", "--preset", "ds2-tiny", "--vocab", "1000", "--seed", "2");
        CliTest.Result a = CliTest.run(java.util.stream.Stream.concat(base.stream(),
                java.util.stream.Stream.of("--out", plain.toString())).toArray(String[]::new));
        CliTest.Result b = CliTest.run(java.util.stream.Stream.concat(base.stream(), java.util.stream.Stream.of(
                "--hot-experts", "4", "--hot-share", "0.7", "--out", hot.toString())).toArray(String[]::new));
        assertEquals(0, a.rc(), a.err());
        assertEquals(0, b.rc(), b.err());
        assertTrue(b.out().contains("skew: 4 hot experts per layer get 70% of the routing choices"), b.out());
        assertEquals(Files.size(plain), Files.size(hot));
        assertNotEquals(-1, Files.mismatch(plain, hot), "the selection bias differs");
    }

    @Test
    void dryRunPrintsTheSummaryAndWritesNothing() {
        Path f = tmp.resolve("none.gguf");
        CliTest.Result r = CliTest.run("synth", "--preset", "kimi-k2.5", "--layers", "4", "--dry-run", "--out", f.toString());
        assertEquals(0, r.rc(), r.err());
        assertTrue(r.out().contains("4 layers"), r.out());
        assertTrue(r.out().contains("type fallback: attn_k_b"), r.out());
        assertFalse(Files.exists(f));
    }

    @Test
    void errorsAreOneClearLine() {
        String out = tmp.resolve("e.gguf").toString();
        for (List<String> args : List.of(
                List.of("--arch", "mamba"),
                List.of("--preset", "gpt-5"),
                List.of("--preset", "llama-tiny", "--type", "Q5_K"),
                List.of("--preset", "llama-tiny", "--heads", "5"),
                List.of("--preset", "kimi-k2.5", "--arch", "llama"),
                List.of("--arch", "qwen3moe", "--used", "200"),
                List.of("--arch", "llama", "--q-lora-rank", "64"),
                List.of("--preset", "ds2-tiny", "--gating", "relu"),
                List.of("--preset", "ds2-tiny", "--hot-experts", "4"),
                List.of("--preset", "ds2-tiny", "--hot-experts", "2", "--hot-share", "0.9"),
                List.of("--preset", "ds2-tiny", "--gating", "softmax", "--hot-experts", "4", "--hot-share", "0.95"),
                List.of("--layers", "3"))) {
            String[] a = java.util.stream.Stream.concat(java.util.stream.Stream.of("synth", "--out", out),
                    args.stream()).toArray(String[]::new);
            CliTest.Result r = CliTest.run(a);
            assertEquals(1, r.rc(), args + ": " + r.out());
            String err = r.err().strip();
            assertTrue(err.startsWith("trillium synth: "), args + ": " + err);
            assertFalse(err.contains("\n"), args + ": " + err);
            assertFalse(Files.exists(Path.of(out)), args + " wrote nothing");
        }
    }
}
