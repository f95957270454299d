package io.trillium.cli;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

class SizesTest {

    @Test
    void sizesAreBinary() {
        assertEquals(512L << 20, Sizes.bytes("--x", "512m"));
        assertEquals(8L << 30, Sizes.bytes("--x", "8g"));
        assertEquals(8L << 30, Sizes.bytes("--x", "8G"));
        assertEquals(8L << 30, Sizes.bytes("--x", "8GiB"));
        assertEquals(8L << 30, Sizes.bytes("--x", "8gb"));
        assertEquals(3L << 39, Sizes.bytes("--x", "1.5t"));
        assertEquals(4096, Sizes.bytes("--x", "4k"));
        assertEquals(100, Sizes.bytes("--x", "100"));
        assertEquals(0, Sizes.bytes("--x", "0"));
    }

    @Test
    void ratesAreDecimal() {
        assertEquals(39e9, Sizes.bytesPerSecond("--x", "39g"));
        assertEquals(3.5e9, Sizes.bytesPerSecond("--x", "3.5g/s"));
        assertEquals(360e9, Sizes.bytesPerSecond("--x", "360GB/s"));
        assertEquals(800e6, Sizes.bytesPerSecond("--x", "800m"));
    }

    @Test
    void junkIsRejectedNamingTheOption() {
        for (String s : List.of("", "abc", "-1g", "1.2.3g", "8x", "g", "8g/s", "1e9", "99999999999t")) {
            var e = assertThrows(IllegalArgumentException.class, () -> Sizes.bytes("--dram", s), s);
            assertTrue(e.getMessage().startsWith("--dram"), e.getMessage());
        }
        for (String s : List.of("0", "0g", "fast", "-3g")) {
            var e = assertThrows(IllegalArgumentException.class, () -> Sizes.bytesPerSecond("--pmem-bw", s), s);
            assertTrue(e.getMessage().startsWith("--pmem-bw"), e.getMessage());
        }
        assertThrows(IllegalArgumentException.class, () -> Sizes.bytes("--x", null));
    }
}
