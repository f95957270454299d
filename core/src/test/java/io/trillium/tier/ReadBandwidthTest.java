package io.trillium.tier;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.*;

class ReadBandwidthTest {

    @TempDir
    Path tmp;

    @Test
    void blocksAreDistinctAlignedAndInRange() {
        long[] all = ReadBandwidth.distinctBlocks(8, 8, 4096);
        long[] sorted = all.clone();
        Arrays.sort(sorted);
        assertArrayEquals(new long[]{0, 4096, 8192, 12288, 16384, 20480, 24576, 28672}, sorted, "a permutation");
        assertFalse(Arrays.equals(sorted, all), "shuffled");
        long[] some = ReadBandwidth.distinctBlocks(1L << 40, 5000, 1 << 20);   // a huge file: sparse bookkeeping
        Set<Long> seen = new HashSet<>();
        for (long o : some) {
            assertEquals(0, o % (1 << 20));
            assertTrue(o >= 0 && o < (1L << 60));
            assertTrue(seen.add(o), "distinct");
        }
    }

    @Test
    void measuresAFileItOnlyReads() throws IOException {
        Path f = tmp.resolve("f.bin");
        byte[] data = new byte[1 << 20];
        new java.util.Random(3).nextBytes(data);
        Files.write(f, data);
        ReadBandwidth.Result r = ReadBandwidth.measure(f, ReadBandwidth.Mode.MMAP, 64 << 10, 16, 3);
        assertEquals(16L << 16, r.bytes());
        assertTrue(r.bytesPerSecond() > 0);
        assertArrayEquals(data, Files.readAllBytes(f));
        var e = assertThrows(IllegalArgumentException.class,
                () -> ReadBandwidth.measure(f, ReadBandwidth.Mode.MMAP, 64 << 10, 17, 1));
        assertTrue(e.getMessage().contains("16 blocks of 65536 bytes, 17 wanted"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> ReadBandwidth.measure(f, ReadBandwidth.Mode.DIRECT, 1000, 1, 1));
    }
}
