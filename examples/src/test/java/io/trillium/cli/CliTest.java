package io.trillium.cli;

import io.trillium.fixtures.Fixtures;
import io.trillium.gguf.GgufFile;
import io.trillium.gguf.GgufTensorInfo;
import io.trillium.gguf.GgufWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

class CliTest {

    @TempDir
    Path tmp;

    /** Runs the CLI in-process, returning exit code, stdout and stderr. */
    static Result run(String... args) {
        PrintStream out = System.out;
        PrintStream err = System.err;
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        ByteArrayOutputStream e = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(o, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(e, true, StandardCharsets.UTF_8));
            int rc = Main.run(args);
            return new Result(rc, o.toString(StandardCharsets.UTF_8), e.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(out);
            System.setErr(err);
        }
    }

    record Result(int rc, String out, String err) {
    }

    static List<Path> fixtureModels() throws IOException {
        try (Stream<Path> s = Stream.concat(Files.list(Fixtures.models()), Files.list(Fixtures.tokenizer()))) {
            return s.filter(p -> p.toString().endsWith(".gguf")).sorted().toList();
        }
    }

    @Test
    void inspectEveryFixtureFile() throws IOException {
        List<Path> files = fixtureModels();
        assertTrue(files.size() >= 10, "fixture GGUF files found: " + files);
        for (Path f : files) {
            Result r = run("inspect", f.toString());
            assertEquals(0, r.rc(), f + ": " + r.err());
            assertTrue(r.out().contains("header: GGUF v3"), f + " header line");
            assertTrue(r.out().contains("general.architecture"), f + " metadata");
            assertTrue(r.out().contains("totals per type:"), f + " totals");
        }
    }

    @Test
    void inspectListsTensorsWithOffsetsAndAbbreviatesArrays() {
        Result r = run("inspect", Fixtures.models().resolve("ds2-tiny-Q4_K_M.gguf").toString());
        assertEquals(0, r.rc(), r.err());
        String out = r.out();
        // The expert tensors of layer 1 with their GGUF dims (fixtures README section 2.1).
        assertTrue(out.contains("blk.1.ffn_gate_exps.weight"), out);
        assertTrue(out.contains("tokenizer.ggml.tokens"), "token array listed");
        assertTrue(out.contains("(32256 items)"), "32256-entry vocabulary abbreviated");
        assertFalse(out.lines().anyMatch(l -> l.length() > 4000), "no unabbreviated giant line");
    }

    @ParameterizedTest
    @ValueSource(strings = {"F32", "F16", "BF16", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "Q2_K", "Q3_K", "Q4_K",
            "Q5_K", "Q6_K", "IQ4_NL", "IQ4_XS", "iq:IQ1_S", "iq:IQ1_M", "iq:IQ2_XXS", "iq:IQ2_XS", "iq:IQ2_S",
            "iq:IQ3_XXS", "iq:IQ3_S", "iq:TQ1_0", "iq:TQ2_0"})
    void dumpTensorReproducesGgmlDequantization(String spec) throws IOException {
        String zoo = spec.startsWith("iq:") ? "type-zoo-iq" : "type-zoo";   // the low-bit types have their own file
        String type = spec.substring(spec.indexOf(':') + 1);
        Path out = tmp.resolve(type + ".f32");
        Result r = run("dump-tensor", Fixtures.models().resolve(zoo + ".gguf").toString(), type + ".weight",
                "--out", out.toString());
        assertEquals(0, r.rc(), r.err());
        byte[] expected = Files.readAllBytes(Fixtures.dequant().resolve(zoo + "." + type + ".weight.f32"));
        assertArrayEquals(expected, Files.readAllBytes(out), type + " differs from ggml's dequantization");
    }

    @Test
    void dumpTensorExpertAndRows() throws IOException {
        Path model = Fixtures.models().resolve("ds2-tiny-Q8_0.gguf");
        byte[] all = Files.readAllBytes(Fixtures.dequant().resolve("ds2-tiny-Q8_0.blk.1.attn_k_b.weight.f32"));
        int expertBytes = 64 * 256 * 4;   // dims [64, 256, 4]: one expert (head) is 256 rows of 64

        Path e2 = tmp.resolve("e2.f32");
        Result r = run("dump-tensor", model.toString(), "blk.1.attn_k_b.weight", "--expert", "2", "--out", e2.toString());
        assertEquals(0, r.rc(), r.err());
        assertArrayEquals(Arrays.copyOfRange(all, 2 * expertBytes, 3 * expertBytes), Files.readAllBytes(e2));

        Path rows = tmp.resolve("rows.f32");
        r = run("dump-tensor", model.toString(), "blk.1.attn_k_b.weight", "--expert", "3", "--rows", "10:20",
                "--out", rows.toString());
        assertEquals(0, r.rc(), r.err());
        int from = 3 * expertBytes + 10 * 64 * 4;
        assertArrayEquals(Arrays.copyOfRange(all, from, from + 10 * 64 * 4), Files.readAllBytes(rows));

        // Without --expert, rows run over all experts: row 256 is expert 1's first row.
        Path flat = tmp.resolve("flat.f32");
        r = run("dump-tensor", model.toString(), "blk.1.attn_k_b.weight", "--rows", "256:257", "--out", flat.toString());
        assertEquals(0, r.rc(), r.err());
        assertArrayEquals(Arrays.copyOfRange(all, expertBytes, expertBytes + 64 * 4), Files.readAllBytes(flat));
    }

    @Test
    void splitSetWrittenByTheWriterInspectsAndDumpsAsOne() throws IOException {
        Path src = Fixtures.models().resolve("ds2-tiny-Q4_K_M.gguf");
        List<Path> parts;
        try (GgufFile g = GgufFile.open(src)) {
            GgufWriter w = new GgufWriter().putAll(g.metadata());
            for (GgufTensorInfo t : g.tensors()) {
                w.tensor(t.name(), t.type(), t.shape());
            }
            parts = w.writeSplit(tmp.resolve("ds2-split"), 20, 0, GgufWriter.TensorData.copyFrom(g));
        }
        assertEquals(3, parts.size(), "51 tensors at 20 per file");
        assertTrue(parts.get(0).getFileName().toString().endsWith("-00001-of-00003.gguf"), parts.toString());

        Result r = run("inspect", parts.get(0).toString());
        assertEquals(0, r.rc(), r.err());
        assertTrue(r.out().contains("split: 3 parts"), r.out());
        assertTrue(r.out().contains("header: GGUF v3, 51 tensors"), r.out());

        // A tensor stored in a later part dumps exactly as from the original single file.
        try (GgufFile split = GgufFile.open(parts.get(0))) {
            assertTrue(split.tensorInfo("blk.2.ffn_down_exps.weight").part() > 0, "stored after part 1");
        }
        Path a = tmp.resolve("a.f32");
        Path b = tmp.resolve("b.f32");
        assertEquals(0, run("dump-tensor", src.toString(), "blk.2.ffn_down_exps.weight", "--expert", "5",
                "--out", a.toString()).rc());
        assertEquals(0, run("dump-tensor", parts.get(0).toString(), "blk.2.ffn_down_exps.weight", "--expert", "5",
                "--out", b.toString()).rc());
        assertArrayEquals(Files.readAllBytes(a), Files.readAllBytes(b));
    }

    @Test
    void dumpTensorErrorsAreSpecificAndNothingIsOverwritten() throws IOException {
        Path model = Fixtures.models().resolve("ds2-tiny-Q8_0.gguf");
        Path out = tmp.resolve("keep.f32");
        Files.writeString(out, "user data");

        Result r = run("dump-tensor", model.toString(), "blk.1.attn_k_b.weight", "--out", out.toString());
        assertEquals(1, r.rc());
        assertTrue(r.err().contains("exists"), r.err());
        assertEquals("user data", Files.readString(out), "an existing file is never overwritten without --force");

        r = run("dump-tensor", model.toString(), "no.such.tensor", "--out", tmp.resolve("x.f32").toString());
        assertEquals(1, r.rc());
        assertTrue(r.err().contains("no.such.tensor"), r.err());

        r = run("dump-tensor", model.toString(), "blk.1.attn_k_b.weight", "--rows", "5:1000000",
                "--out", tmp.resolve("y.f32").toString());
        assertEquals(1, r.rc());
        assertTrue(r.err().contains("--rows"), r.err());

        r = run("dump-tensor", model.toString(), "token_embd.weight", "--expert", "0",
                "--out", tmp.resolve("z.f32").toString());
        assertEquals(1, r.rc());
        assertTrue(r.err().contains("not a 3-D expert tensor"), r.err());

        r = run("inspect", tmp.resolve("missing.gguf").toString());
        assertEquals(1, r.rc());
        assertTrue(r.err().contains("missing.gguf"), r.err());
        assertFalse(Files.exists(tmp.resolve("x.f32")) || Files.exists(tmp.resolve("y.f32")), "no partial outputs");
    }
}
