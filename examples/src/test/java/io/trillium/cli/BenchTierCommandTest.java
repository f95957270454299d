package io.trillium.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

class BenchTierCommandTest {

    @TempDir
    Path tmp;

    private List<Path> listing() throws IOException {
        try (Stream<Path> s = Files.list(tmp)) {
            return s.sorted().toList();
        }
    }

    @Test
    void aDirectoryGetsATemporaryFileThatIsDeletedAfterwards() throws IOException {
        CliTest.Result r = CliTest.run("bench-tier", tmp.toString(), "--mode", "mmap", "--size", "8m", "--block", "1m",
                "--threads", "2");
        assertEquals(0, r.rc(), r.err());
        assertTrue(r.out().matches("(?s).*\nread: \\d+\\.\\d\\d GB/s \\(mmap, block 1\\.00 MiB, 2 threads\\)\n.*"), r.out());
        assertTrue(r.out().contains("8.00 MiB in 8 reads"), r.out());
        assertTrue(r.out().contains("mmap reads include the page cache"), r.out());
        assertEquals(List.of(), listing(), "the test file is gone");

        // O_DIRECT depends on the file system: a number, or one line that says to use mmap
        CliTest.Result d = CliTest.run("bench-tier", tmp.toString(), "--size", "4m", "--block", "1m");
        if (d.rc() == 0) {
            assertTrue(d.out().contains("(direct, block 1.00 MiB, 4 threads)"), d.out());
        } else {
            assertTrue(d.err().contains("O_DIRECT") && d.err().contains("--mode mmap"), d.err());
        }
        assertEquals(List.of(), listing(), "the test file is gone");
    }

    @Test
    void aFileIsOnlyRead() throws IOException {
        Path f = tmp.resolve("user.bin");
        byte[] data = new byte[3 << 20];
        new Random(1).nextBytes(data);
        Files.write(f, data);
        CliTest.Result r = CliTest.run("bench-tier", f.toString(), "--mode", "mmap", "--block", "1m");
        assertEquals(0, r.rc(), r.err());
        assertTrue(r.out().contains("(read only)"), r.out());
        assertTrue(r.out().contains("3.00 MiB in 3 reads"), r.out());
        assertArrayEquals(data, Files.readAllBytes(f));
        assertEquals(List.of(f), listing());
    }

    @Test
    void errorsAreOneClearLine() {
        for (List<String> args : List.of(List.of(tmp.toString(), "--block", "1000"),
                List.of(tmp.toString(), "--mode", "fast"),
                List.of(tmp.toString(), "--size", "1m", "--block", "4m"),
                List.of(tmp.resolve("missing").toString()))) {
            CliTest.Result r = CliTest.run(Stream.concat(Stream.of("bench-tier"), args.stream()).toArray(String[]::new));
            assertEquals(1, r.rc(), args + ": " + r.out());
            assertTrue(r.err().startsWith("trillium bench-tier: "), r.err());
            assertEquals(1, r.err().strip().lines().count(), r.err());
        }
    }
}
