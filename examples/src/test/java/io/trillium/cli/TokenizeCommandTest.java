package io.trillium.cli;

import io.trillium.cli.CliTest.Result;
import io.trillium.fixtures.Fixtures;
import io.trillium.tokenizer.SpecialTokens;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static io.trillium.cli.CliTest.run;
import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

class TokenizeCommandTest {
    static final Path SPM = Fixtures.tokenizer().resolve("ggml-vocab-llama-spm.gguf");

    @TempDir
    Path tmp;

    @Test
    void vectorsReproduceTheOutFileByteForByte() throws IOException {
        Result r = run("tokenize", "--model", SPM.toString(), "--vectors", SPM + ".inp");
        assertEquals(0, r.rc(), r.err());
        String expected = Files.readString(Path.of(SPM + ".out"), StandardCharsets.UTF_8);
        assertEquals(expected, r.out());
        assertEquals("", r.err());
    }

    @Test
    void singleTextPrintsIdsOnOneLine() {
        Result r = run("tokenize", "--model", SPM.toString(), "Hello world");
        assertEquals(0, r.rc(), r.err());
        assertEquals("15043 3186\n", r.out());

        r = run("tokenize", "--model", SPM.toString(), "--add-special", "Hello world");
        assertEquals(0, r.rc(), r.err());
        assertEquals("1 15043 3186\n", r.out(), "BOS 1 first, no EOS");

        r = run("tokenize", "--model", SPM.toString(), "");
        assertEquals(0, r.rc(), r.err());
        assertEquals("\n", r.out(), "empty text: an empty line");
    }

    @Test
    void fileInputIsTokenizedAsIs() throws IOException {
        Path f = tmp.resolve("in.txt");
        Files.writeString(f, "Hello world\n", StandardCharsets.UTF_8);
        Result r = run("tokenize", "--model", SPM.toString(), "--file", f.toString());
        assertEquals(0, r.rc(), r.err());
        assertEquals("15043 3186 13\n", r.out(), "the trailing newline is <0x0A>");
    }

    @Test
    void specialTokenTextIsPlainWithoutParseSpecial() {
        Result r = run("tokenize", "--model", SPM.toString(), "<s>Hi");
        assertEquals(0, r.rc(), r.err());
        assertFalse((" " + r.out().strip() + " ").contains(" 1 "), r.out());

        assumeTrue(splitAvailable(), "SpecialTokens.split is not merged yet");
        r = run("tokenize", "--model", SPM.toString(), "--parse-special", "<s>Hi");
        assertEquals(0, r.rc(), r.err());
        assertEquals("1 6324\n", r.out(), "<s> is BOS; the text after it gets the space prefix: ▁Hi");
    }

    static boolean splitAvailable() {
        try {
            SpecialTokens.split("x", Map.of("y", 0));
            return true;
        } catch (UnsupportedOperationException e) {
            return false;
        }
    }

    @Test
    void decodeRoundTrip() {
        String text = "Hello world, ünïcödé 🦙 and\ttabs";
        Result enc = run("tokenize", "--model", SPM.toString(), text);
        assertEquals(0, enc.rc(), enc.err());
        String[] ids = enc.out().strip().split(" ");
        String[] args = new String[ids.length + 4];
        args[0] = "tokenize";
        args[1] = "--model";
        args[2] = SPM.toString();
        args[3] = "--decode";
        System.arraycopy(ids, 0, args, 4, ids.length);
        Result dec = run(args);
        assertEquals(0, dec.rc(), dec.err());
        assertEquals(text + "\n", dec.out());

        dec = run("tokenize", "--model", SPM.toString(), "--decode", "1", "15043", "3186");
        assertEquals(0, dec.rc(), dec.err());
        assertEquals("<s> Hello world\n", dec.out(), "a control token prints its text");
    }

    @Test
    void errorsAreOneClearLine() throws IOException {
        assertError(run("tokenize", "--model", SPM.toString(), "--decode", "15043", "x"), "'x' is not a token id");
        assertError(run("tokenize", "--model", SPM.toString(), "--decode", "32000"), "outside the vocabulary");
        assertError(run("tokenize", "--model", tmp.resolve("missing.gguf").toString(), "hi"), "missing.gguf");
        assertError(run("tokenize", "--model", SPM.toString(), "--file", tmp.resolve("nope.txt").toString()),
                "nope.txt: no such file");
        Path f = tmp.resolve("in.txt");
        Files.writeString(f, "x");
        assertError(run("tokenize", "--model", SPM.toString(), "--file", f.toString(), "text"), "only one of");
        assertError(run("tokenize", "--model", SPM.toString()), "give TEXT");
        Path bad = tmp.resolve("bad.txt");
        Files.write(bad, new byte[]{(byte) 0xC3, 0x28});
        assertError(run("tokenize", "--model", SPM.toString(), "--file", bad.toString()), "not valid UTF-8");
        Path notGguf = tmp.resolve("not.gguf");
        Files.writeString(notGguf, "hello");
        Result r = run("tokenize", "--model", notGguf.toString(), "hi");
        assertEquals(1, r.rc());
        assertTrue(r.err().contains("not.gguf"), r.err());
    }

    static void assertError(Result r, String expected) {
        assertEquals(1, r.rc(), r.out() + r.err());
        assertEquals("", r.out());
        assertTrue(r.err().startsWith("trillium tokenize: "), r.err());
        assertTrue(r.err().contains(expected), r.err());
        assertEquals(1, r.err().lines().count(), "one line: " + r.err());
    }
}
