package io.trillium.cli;

import io.trillium.fixtures.Fixtures;
import io.trillium.gguf.GgufFile;
import io.trillium.moe.ExpertStats;
import io.trillium.tier.RepackedLayout;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

class RepackCommandTest {

    @TempDir
    Path tmp;

    @Test
    void repacksInPopularityOrderAndNeverOverwrites() throws IOException {
        Path model = Files.copy(Fixtures.models().resolve("ds2-tiny-Q4_K_M.gguf"), tmp.resolve("m.gguf"));
        ExpertStats st = new ExpertStats(3, 16);
        for (int l = 1; l < 3; l++) {
            st.record(l, new int[] {9, 3}, 2);
            st.record(l, new int[] {9, 15 - l}, 2);
        }
        Path stats = tmp.resolve("stats.json");
        st.save(stats, false);
        Path out = tmp.resolve("m.packed");
        CliTest.Result r = CliTest.run("repack", "--model", model.toString(), "--stats", stats.toString(),
                "--out", out.toString());
        assertEquals(0, r.rc(), r.err());
        assertTrue(r.out().contains("wrote " + out + ": 2 MoE layers x 16 experts, most popular first"), r.out());
        try (GgufFile g = GgufFile.open(model)) {
            RepackedLayout p = RepackedLayout.open(out, g, new boolean[] {false, true, true}, 16);
            assertArrayEquals(new int[] {9, 3, 14}, java.util.Arrays.copyOf(p.order(1), 3));
            assertArrayEquals(new int[] {9, 3, 13}, java.util.Arrays.copyOf(p.order(2), 3));
        }
        byte[] before = Files.readAllBytes(out);
        CliTest.Result again = CliTest.run("repack", "--model", model.toString(), "--out", out.toString());
        assertEquals(1, again.rc());
        assertTrue(again.err().contains(out + " exists"), again.err());
        assertArrayEquals(before, Files.readAllBytes(out), "untouched");

        CliTest.Result beside = CliTest.run("repack", "--model", model.toString());
        assertEquals(0, beside.rc(), beside.err());
        assertTrue(beside.out().contains("id order"), beside.out());
        assertTrue(Files.exists(tmp.resolve("m.gguf.experts")));
    }

    @Test
    void badInputsAreOneLine() throws IOException {
        Path stats = tmp.resolve("s.json");
        new ExpertStats(5, 16).save(stats, false);
        String ds2 = Fixtures.models().resolve("ds2-tiny-Q4_K_M.gguf").toString();
        String[][] cases = {
                {"--model", tmp.resolve("none.gguf").toString(), "--out", tmp.resolve("a").toString()},
                {"--model", Fixtures.models().resolve("llama-tiny-F32.gguf").toString(), "--out", tmp.resolve("b").toString()},
                {"--model", ds2, "--stats", stats.toString(), "--out", tmp.resolve("c").toString()}};
        String[] want = {"no such file", "no routed experts", "expert statistics are for 5 layers"};
        for (int i = 0; i < cases.length; i++) {
            String[] a = new String[cases[i].length + 1];
            a[0] = "repack";
            System.arraycopy(cases[i], 0, a, 1, cases[i].length);
            CliTest.Result r = CliTest.run(a);
            assertEquals(1, r.rc(), r.out());
            String err = r.err().strip();
            assertTrue(err.startsWith("trillium repack: ") && err.contains(want[i]) && !err.contains("\n"), err);
        }
        try (var s = Files.list(tmp)) {
            assertEquals(1, s.count(), "nothing written but the stats");
        }
    }
}
