package io.trillium.gguf;

import io.trillium.quant.GgmlType;
import io.trillium.quant.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static io.trillium.gguf.GgufTestFiles.PATTERN;
import static io.trillium.gguf.GgufTestFiles.mismatch;
import static org.junit.jupiter.api.Assertions.*;

class GgufRoundTripTest {
    @TempDir
    Path dir;

    /** One value of every type, arrays of every element type, and arrays nested three deep. */
    static GgufWriter everyValueType(GgufWriter w) {
        return w.put("general.architecture", GgufValue.string("round-trip ✓"))
                .put("v.u8", GgufValue.u8(255))
                .put("v.i8", GgufValue.i8(-128))
                .put("v.u16", GgufValue.u16(65535))
                .put("v.i16", GgufValue.i16(-32768))
                .put("v.u32", GgufValue.u32(0xFFFF_FFFFL))
                .put("v.i32", GgufValue.i32(Integer.MIN_VALUE))
                .put("v.f32", GgufValue.f32(1e-6f))
                .put("v.bool", GgufValue.bool(true))
                .put("v.bool0", GgufValue.bool(false))
                .put("v.string", GgufValue.string("héllo\nworld"))
                .put("v.empty", GgufValue.string(""))
                .put("v.u64", GgufValue.u64(-1L)) // 2^64 - 1
                .put("v.i64", GgufValue.i64(Long.MIN_VALUE))
                .put("v.f64", GgufValue.f64(Math.PI))
                .put("a.u8", GgufValue.array(GgufArray.ofInts(GgufValueType.UINT8, 0, 1, 255)))
                .put("a.i8", GgufValue.array(GgufArray.ofInts(GgufValueType.INT8, -128, 0, 127)))
                .put("a.u16", GgufValue.array(GgufArray.ofInts(GgufValueType.UINT16, 0, 65535)))
                .put("a.i16", GgufValue.array(GgufArray.ofInts(GgufValueType.INT16, -32768, 32767)))
                .put("a.u32", GgufValue.array(GgufArray.ofLongs(GgufValueType.UINT32, 0, 0xFFFF_FFFFL)))
                .put("a.i32", GgufValue.array(GgufArray.ofInts(GgufValueType.INT32, -1, 2, 3)))
                .put("a.u64", GgufValue.array(GgufArray.ofLongs(GgufValueType.UINT64, 1, -1)))
                .put("a.i64", GgufValue.array(GgufArray.ofLongs(GgufValueType.INT64, Long.MIN_VALUE, Long.MAX_VALUE)))
                .put("a.f32", GgufValue.array(GgufArray.ofFloats(1.5f, Float.NaN, -0f)))
                .put("a.f64", GgufValue.array(GgufArray.ofDoubles(2.5, Double.NEGATIVE_INFINITY)))
                .put("a.bool", GgufValue.array(GgufArray.ofBools(true, false, true)))
                .put("a.string", GgufValue.strings(List.of("Ġthe", "", "日本")))
                .put("a.empty", GgufValue.array(GgufArray.ofInts(GgufValueType.INT32)))
                .put("a.nested", GgufValue.array(GgufArray.ofArrays(List.of(
                        GgufArray.ofInts(GgufValueType.INT32, 1, 2),
                        GgufArray.ofStrings(List.of("x")),
                        GgufArray.ofArrays(List.of(GgufArray.ofFloats(3f), GgufArray.ofBools()))))));
    }

    @ParameterizedTest
    @CsvSource({"3, 0", "3, 32", "3, 64", "2, 64", "2, 0"})
    void metadataAndEveryTypeRoundTrip(int version, int alignment) throws IOException {
        GgufWriter w = everyValueType(new GgufWriter()).version(version);
        if (alignment > 0) {
            w.alignment(alignment);
        }
        List<String> names = new ArrayList<>();
        for (GgmlType t : GgmlType.values()) {
            if (!t.isGguf()) {
                continue;   // checkpoint-only types (CT_INT4, F8_E4M3_B128) have no GGUF id
            }
            // two blocks per row, 3 rows: exercises every type's block geometry
            w.tensor(t.name() + ".weight", t, 2L * t.blockSize(), 3);
            names.add(t.name() + ".weight");
        }
        w.tensor("vector", GgmlType.F32, 5).tensor("four.d", GgmlType.Q8_0, 32, 2, 3, 2);
        names.add("vector");
        names.add("four.d");
        Path p = w.write(dir.resolve("all.gguf"), PATTERN);

        GgufFile g = GgufFile.open(p);
        try (g) {
            assertEquals(version, g.version());
            int align = alignment > 0 ? alignment : 32;
            assertEquals(align, g.alignment());
            assertEquals(0, g.dataOffset(0) % align);
            GgufMetadata expected = everyValueType(new GgufWriter()).metadata();
            for (String key : expected.keys()) {
                assertEquals(expected.get(key), g.metadata().get(key), key);
            }
            assertEquals(expected.size() + (alignment > 0 ? 1 : 0), g.metadata().size());
            // spot checks of the decoded Java types
            GgufMetadata m = g.metadata();
            assertEquals(255, m.get("v.u8").value());
            assertEquals(-128, m.get("v.i8").value());
            assertEquals(0xFFFF_FFFFL, m.get("v.u32").value());
            assertEquals(0xFFFF_FFFFL, m.getLong("v.u32"));
            assertEquals(-1L, m.get("v.u64").value());
            assertThrows(GgufFormatException.class, () -> m.getLong("v.u64"));
            assertThrows(GgufFormatException.class, () -> m.getInt("v.u32"));
            assertEquals(Math.PI, m.getDouble("v.f64"));
            assertEquals((float) Math.PI, m.getFloat("v.f64"));
            assertEquals("héllo\nworld", m.getString("v.string"));
            assertFalse(m.getBoolean("v.bool0"));
            assertArrayEquals(new int[] {0, 1, 255}, m.getIntArray("a.u8"));
            assertArrayEquals(new long[] {0, 0xFFFF_FFFFL}, m.getLongArray("a.u32"));
            assertArrayEquals(new int[] {-1, 2, 3}, m.getIntArray("a.i32"));
            assertArrayEquals(new long[] {-1, 2, 3}, m.getLongArray("a.i32"));
            assertEquals(List.of("Ġthe", "", "日本"), m.getStringArray("a.string"));
            assertArrayEquals(new boolean[] {true, false, true}, m.getBooleanArray("a.bool"));
            assertArrayEquals(new float[] {2.5f, Float.NEGATIVE_INFINITY}, m.getFloatArray("a.f64"));
            GgufArray nested = m.getArray("a.nested");
            assertEquals(GgufValueType.ARRAY, nested.elementType());
            GgufArray deep = (GgufArray) nested.get(2);
            assertEquals(GgufValueType.ARRAY, deep.elementType());
            assertEquals(GgufArray.ofFloats(3f), deep.get(0));
            assertEquals(0, ((GgufArray) deep.get(1)).size());
            // typed getters name the file and the key
            GgufFormatException e = assertThrows(GgufFormatException.class, () -> m.getString("v.u8"));
            assertTrue(e.getMessage().contains("all.gguf") && e.getMessage().contains("v.u8"), e.getMessage());
            e = assertThrows(GgufFormatException.class, () -> m.getInt("no.such.key"));
            assertTrue(e.getMessage().contains("no.such.key"), e.getMessage());
            assertTrue(m.longValue("no.such.key").isEmpty());
            assertEquals(7, m.getInt("no.such.key", 7));
            assertThrows(GgufFormatException.class, () -> m.longValue("v.string"));

            assertEquals(names, g.tensors().stream().map(GgufTensorInfo::name).toList());
            for (GgufTensorInfo info : g.tensors()) {
                assertEquals(0, info.offset() % align, info.name());
                Tensor t = g.tensor(info.name());
                assertEquals(info.type(), t.type());
                assertEquals(info.type().bytesFor(info.elementCount()), info.byteSize());
                assertEquals(-1, mismatch(info.name(), t.data()), info.name());
            }
            assertArrayEquals(new long[] {32, 2, 3, 2}, g.tensorInfo("four.d").shape());
            assertEquals(GgmlType.IQ2_XXS, g.tensorInfo("IQ2_XXS.weight").type(), "unsupported types still open");
        }
        assertThrows(IllegalStateException.class, () -> g.tensor("vector").data().get(
                java.lang.foreign.ValueLayout.JAVA_BYTE, 0), "views die with the file");
    }

    @Test
    void writerRefusesToOverwrite() throws IOException {
        Path p = dir.resolve("keep.gguf");
        Files.writeString(p, "precious");
        FileAlreadyExistsException e = assertThrows(FileAlreadyExistsException.class,
                () -> GgufTestFiles.write(p, 2));
        assertTrue(e.getMessage().contains("keep.gguf") && e.getMessage().contains("overwrite"), e.getMessage());
        assertEquals("precious", Files.readString(p));
        try (var s = Files.list(dir)) {
            assertEquals(1, s.count(), "no temporary file left behind");
        }
        GgufTestFiles.model(2).overwrite(true).write(p, PATTERN);
        try (GgufFile g = GgufFile.open(p)) {
            assertEquals(2, g.tensors().size());
        }
    }

    @Test
    void failedWriteLeavesNothing() throws IOException {
        Path p = dir.resolve("broken.gguf");
        assertThrows(IOException.class, () -> GgufTestFiles.model(3).write(p, (t, dst) -> {
            throw new IOException("source gone");
        }));
        try (var s = Files.list(dir)) {
            assertEquals(0, s.count());
        }
    }

    @Test
    void writerRejectsBadDeclarations() {
        GgufWriter w = new GgufWriter();
        assertThrows(IllegalArgumentException.class, () -> w.tensor("q", GgmlType.Q4_K, 128, 2));
        assertThrows(IllegalArgumentException.class, () -> w.tensor("five", GgmlType.F32, 1, 1, 1, 1, 1));
        assertThrows(IllegalArgumentException.class, () -> w.tensor("x".repeat(64), GgmlType.F32, 1));
        w.tensor("a", GgmlType.F32, 4);
        assertThrows(IllegalArgumentException.class, () -> w.tensor("a", GgmlType.F32, 4));
        assertThrows(IllegalArgumentException.class, () -> w.alignment(48));
        assertThrows(IllegalArgumentException.class, () -> w.version(1));
        assertThrows(IllegalArgumentException.class, () -> GgufValue.u8(256));
        assertThrows(IllegalArgumentException.class, () -> GgufValue.u32(-1));
        assertThrows(IllegalArgumentException.class, () -> new GgufValue(GgufValueType.STRING, 3));
        assertThrows(IllegalArgumentException.class, () -> GgufArray.ofInts(GgufValueType.INT8, 200));
    }
}
