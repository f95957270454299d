package io.trillium.gguf;

import io.trillium.quant.GgmlType;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static io.trillium.gguf.GgufTestFiles.PATTERN;
import static org.junit.jupiter.api.Assertions.*;

/**
 * Corrupts a valid file byte by byte: every case must end in a {@link GgufFormatException} that
 * names the file, the offset and what was expected, never in another exception, a hang or a
 * huge allocation.
 */
class GgufHostileTest {
    @TempDir
    Path dir;

    private byte[] base;
    private int n;

    @BeforeEach
    void writeBase() throws IOException {
        // every tensor's size is a multiple of 32, so the file ends exactly where the last tensor does
        Path p = new GgufWriter()
                .put("general.architecture", GgufValue.string("test"))
                .put("k.a1", GgufValue.u32(7))
                .put("k.a2", GgufValue.u32(8))
                .put("k.flag", GgufValue.bool(true))
                .put("k.arr", GgufValue.array(GgufArray.ofInts(GgufValueType.INT32, 1, 2, 3)))
                .put("general.alignment", GgufValue.u32(32))
                .tensor("w.zero", GgmlType.F32, 8, 4)
                .tensor("w.one", GgmlType.Q8_0, 32, 16)
                .tensor("w.two", GgmlType.F32, 8)
                .write(dir.resolve("base.gguf"), PATTERN);
        base = Files.readAllBytes(p);
        try (GgufFile g = GgufFile.open(p)) {
            assertEquals(3, g.tensors().size());
            assertEquals(base.length, g.tensorInfo("w.two").fileOffset() + 32);
        }
    }

    /** Offset of the first occurrence of {@code s} in the base file. */
    private int at(String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        outer:
        for (int i = 0; i + b.length <= base.length; i++) {
            for (int j = 0; j < b.length; j++) {
                if (base[i + j] != b[j]) {
                    continue outer;
                }
            }
            return i;
        }
        throw new AssertionError(s + " not in the file");
    }

    private static void putU32(byte[] b, int at, long v) {
        ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putInt(at, (int) v);
    }

    private static void putU64(byte[] b, int at, long v) {
        ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putLong(at, v);
    }

    /** Opens {@code bytes} and expects a GgufFormatException at {@code offset} (-1: any) mentioning {@code what}. */
    private GgufFormatException fails(byte[] bytes, long offset, String what) throws IOException {
        Path p = dir.resolve("hostile-" + (n++) + ".gguf");
        Files.write(p, bytes);
        GgufFormatException e = assertThrows(GgufFormatException.class, () -> GgufFile.open(p).close());
        String m = e.getMessage();
        assertTrue(m.contains(p.getFileName().toString()), "names the file: " + m);
        assertEquals(p, e.file());
        if (offset >= 0) {
            assertEquals(offset, e.offset(), m);
            assertTrue(m.contains("@" + offset), "names the offset: " + m);
        }
        assertTrue(m.toLowerCase().contains(what.toLowerCase()), "says '" + what + "': " + m);
        return e;
    }

    private byte[] copy() {
        return base.clone();
    }

    @Test
    void badMagicAndVersion() throws IOException {
        byte[] b = copy();
        b[0] = 'X';
        fails(b, 0, "magic");
        b = copy();
        putU32(b, 4, 1);
        fails(b, 4, "version 1 is not supported");
        b = copy();
        putU32(b, 4, 4);
        fails(b, 4, "expected 2 or 3");
        b = copy();
        putU32(b, 4, Integer.reverseBytes(3));
        fails(b, 4, "big-endian");
        fails(new byte[0], 0, "not a GGUF file");
        fails("GGUF".getBytes(StandardCharsets.US_ASCII), 4, "truncated");
    }

    @Test
    void countsPastTheEnd() throws IOException {
        byte[] b = copy();
        putU64(b, 8, 1L << 40);
        fails(b, 8, "tensor count");
        b = copy();
        putU64(b, 8, -1L);
        fails(b, 8, "18446744073709551615");
        b = copy();
        putU64(b, 16, 1L << 50);
        fails(b, 16, "metadata count");
        b = copy();
        putU64(b, 24, 1L << 40); // first key's length
        fails(b, 24, "string length");
        b = copy();
        putU64(b, at("k.arr") + 13, 1L << 40); // key, value type @+5, element type @+9, length @+13
        fails(b, at("k.arr") + 13, "array length");
        b = copy();
        putU64(b, at("test") - 8, Long.MAX_VALUE); // string value length
        fails(b, at("test") - 8, "string length");
    }

    @Test
    void badMetadata() throws IOException {
        byte[] b = copy();
        putU32(b, at("k.a1") + 4, 13);
        fails(b, at("k.a1") + 4, "unknown metadata value type 13");
        b = copy();
        putU32(b, at("k.arr") + 9, 99);
        fails(b, at("k.arr") + 9, "unknown metadata value type 99");
        b = copy();
        b[at("k.a2") + 3] = '1'; // k.a2 -> k.a1
        fails(b, at("k.a2") - 8, "duplicate metadata key 'k.a1'");
        b = copy();
        b[at("k.flag") + 10] = 2;
        fails(b, at("k.flag") + 10, "0 or 1");
        b = copy();
        putU32(b, at("general.alignment") + 21, 48);
        fails(b, at("general.alignment") + 21, "power of two");
        b = copy();
        putU32(b, at("general.alignment") + 17, GgufValueType.STRING.id());
        fails(b, -1, "");
    }

    @Test
    void arraysNestedTooDeep() throws IOException {
        GgufArray a = GgufArray.ofInts(GgufValueType.INT32, 1);
        for (int i = 0; i < GgufParser.MAX_ARRAY_DEPTH; i++) {
            a = GgufArray.ofArrays(List.of(a));
        }
        Path p = new GgufWriter().put("deep", GgufValue.array(a)).write(dir.resolve("deep.gguf"), null);
        GgufFormatException e = assertThrows(GgufFormatException.class, () -> GgufFile.open(p));
        assertTrue(e.getMessage().contains("deep.gguf") && e.getMessage().contains("nested"), e.getMessage());
        assertTrue(e.offset() > 24);
        // one level less is fine
        Path ok = new GgufWriter().put("deep", GgufValue.array(GgufArray.ofArrays(List.of())))
                .write(dir.resolve("ok.gguf"), null);
        GgufFile.open(ok).close();
    }

    @Test
    void badTensorInfos() throws IOException {
        int zero = at("w.zero"), one = at("w.one"), two = at("w.two");
        // w.zero: name 6 bytes, n_dims @+6, ne0 @+10, ne1 @+18, type @+26, offset @+30
        byte[] b = copy();
        putU32(b, zero + 6, 5);
        fails(b, zero + 6, "5 dims, expected 1 to 4");
        b = copy();
        putU32(b, zero + 6, 0);
        fails(b, zero + 6, "0 dims");
        b = copy();
        putU64(b, zero + 10, 1L << 32);
        putU64(b, zero + 18, 1L << 32);
        fails(b, zero + 18, "overflows");
        b = copy();
        putU64(b, zero + 10, -8);
        fails(b, zero + 10, "below 2^63");
        b = copy();
        putU64(b, zero + 10, 1L << 61); // element count fine, byte size (×4) overflows
        putU64(b, zero + 18, 1);
        fails(b, zero + 6, "overflows");
        b = copy();
        putU32(b, zero + 26, 99);
        fails(b, zero + 26, "unknown ggml type id 99");
        b = copy();
        putU32(b, zero + 26, 4); // Q4_2, removed from ggml
        fails(b, zero + 26, "unknown ggml type id 4");
        b = copy();
        putU64(b, zero + 30, 8);
        fails(b, zero + 30, "alignment 32");
        b = copy();
        putU64(b, zero + 30, 1L << 40);
        fails(b, zero - 8, "outside");
        b = copy();
        putU64(b, zero + 30, -32);
        fails(b, zero + 30, "alignment");
        // w.one (Q8_0): name 5 bytes, n_dims @+5, ne0 @+9
        b = copy();
        putU64(b, one + 9, 33);
        fails(b, one + 5, "not a multiple of the block size 32");
        // w.two: offset @ +5+4+8+4 = +21, moved onto w.one's data
        b = copy();
        long oneOffset = ByteBuffer.wrap(base).order(ByteOrder.LITTLE_ENDIAN).getLong(one + 5 + 4 + 16 + 4);
        putU64(b, two + 21, oneOffset);
        fails(b, -1, "overlaps");
        b = copy();
        b[two + 2] = 'o';
        b[two + 3] = 'n';
        b[two + 4] = 'e'; // w.two -> w.one
        fails(b, two - 8, "duplicate tensor name 'w.one'");
        b = copy();
        putU64(b, zero - 8, 1L << 33); // tensor name length
        fails(b, zero - 8, "string length");
    }

    @Test
    void emptyTensorPastTheEnd() throws IOException {
        Path p = new GgufWriter().put("k", GgufValue.string("abc")).tensor("z", GgmlType.F32, 0)
                .write(dir.resolve("empty.gguf"), null);
        try (GgufFile g = GgufFile.open(p)) {
            assertEquals(0, g.tensor("z").data().byteSize());
        }
        byte[] b = Files.readAllBytes(p);
        fails(Arrays.copyOf(b, b.length - 1), -1, "");
    }

    @Test
    void everyTruncationFails() throws IOException {
        for (int len = 0; len < base.length; len += (len < 600 ? 1 : 7)) {
            fails(Arrays.copyOf(base, len), -1, "");
        }
    }

    @Test
    void randomCorruptionNeverCrashes() throws IOException {
        Random r = new Random(42);
        int header = at("w.two") + 40;
        Path p = dir.resolve("fuzz.gguf");
        for (int i = 0; i < 1500; i++) {
            byte[] b = copy();
            for (int k = 1 + r.nextInt(4); k > 0; k--) {
                int pos = r.nextInt(header);
                b[pos] = switch (r.nextInt(4)) {
                    case 0 -> (byte) 0xFF;
                    case 1 -> 0;
                    case 2 -> (byte) (b[pos] + 1);
                    default -> (byte) r.nextInt(256);
                };
            }
            Files.write(p, b);
            try (GgufFile g = GgufFile.open(p)) {
                for (GgufTensorInfo t : g.tensors()) {
                    g.tensor(t.name()); // whatever survived parsing must give valid views
                }
            } catch (GgufFormatException e) {
                assertTrue(e.getMessage().contains("fuzz.gguf"), e.getMessage());
            }
        }
    }
}
