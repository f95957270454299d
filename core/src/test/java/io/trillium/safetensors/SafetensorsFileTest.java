package io.trillium.safetensors;

import io.trillium.quant.GgmlType;
import io.trillium.quant.Tensor;
import io.trillium.quant.Kernels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The safetensors reader: every dtype, zero-copy views, sharded checkpoints, and hostile files. */
class SafetensorsFileTest {
    @TempDir
    Path dir;

    private SafetensorsFormatException bad(String header, int dataBytes) throws IOException {
        Path p = dir.resolve("bad-" + System.nanoTime() + ".safetensors");
        SafetensorsWriter.writeRaw(p, header.getBytes(StandardCharsets.UTF_8), new byte[dataBytes]);
        return bad(p);
    }

    private static SafetensorsFormatException bad(Path p) {
        try (Arena a = Arena.ofConfined()) {
            SafetensorsFormatException e = assertThrows(SafetensorsFormatException.class, () -> SafetensorsFile.open(p, a));
            assertEquals(p, e.file());
            assertTrue(e.getMessage().startsWith(p.toString()), e.getMessage());
            return e;
        }
    }

    @Test
    void everyDtypeHasItsSize() throws IOException {
        String[] dtypes = {"BOOL", "U8", "I8", "F8_E5M2", "F8_E4M3", "I16", "U16", "F16", "BF16", "I32", "U32", "F32",
                "F64", "I64", "U64", "F4", "F6_E2M3", "F6_E3M2", "F8_E8M0", "C64"};
        int[] bits = {8, 8, 8, 8, 8, 16, 16, 16, 16, 32, 32, 32, 64, 64, 64, 4, 6, 6, 8, 64};
        SafetensorsWriter w = new SafetensorsWriter();
        for (int i = 0; i < dtypes.length; i++) {
            w.add("t." + dtypes[i], dtypes[i], new long[] {2, 4}, new byte[8 * bits[i] / 8]);
        }
        Path p = dir.resolve("all.safetensors");
        w.write(p);
        try (Arena a = Arena.ofConfined()) {
            SafetensorsFile f = SafetensorsFile.open(p, a);
            assertEquals(dtypes.length, f.tensors().size());
            for (int i = 0; i < dtypes.length; i++) {
                SafetensorsTensorInfo t = f.tensors().get("t." + dtypes[i]);
                assertEquals(Dtype.valueOf(dtypes[i]), t.dtype());
                assertEquals(bits[i], t.byteSize());
            }
            assertEquals("pt", f.metadata().get("format"));
        }
    }

    @Test
    void viewsAreZeroCopyAndReversedToGgmlOrder() throws IOException {
        Path p = dir.resolve("model.safetensors");
        new SafetensorsWriter().f32("a", new long[] {2, 3}, new float[] {1, 2, 3, 4, 5, 6})
                .add("scalar", "F32", new long[0], ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putFloat(7).array())
                .write(p);
        try (SafetensorsCheckpoint c = SafetensorsCheckpoint.open(dir)) {
            Tensor t = c.tensor("a");
            assertArrayEquals(new long[] {3, 2}, t.shape());
            float[] v = new float[6];
            t.dequantizeRows(0, 2, v, 0);
            assertArrayEquals(new float[] {1, 2, 3, 4, 5, 6}, v);
            long fileOffset = c.info("a").fileOffset();
            assertEquals(Files.size(p) - 28, fileOffset);   // 24 bytes of a, then 4 of scalar, at the end
            assertEquals(c.files().getFirst().data(c.info("a")).address(), t.data().address());
            assertEquals(1, c.tensor("scalar").elementCount());
        }
    }

    @Test
    void int4LinearIsFoundThroughItsCompanions() throws IOException {
        int[] q = new int[64 * 2];
        for (int i = 0; i < q.length; i++) {
            q[i] = i % 16 - 8;
        }
        int[] words = new int[q.length / 8];
        try (Arena a = Arena.ofConfined()) {
            var seg = a.allocate(q.length / 2);
            Kernels.packInt4(q, 0, seg, 0, q.length);
            for (int i = 0; i < words.length; i++) {
                words[i] = seg.getAtIndex(java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED, i);
            }
        }
        new SafetensorsWriter().i32("x.weight_packed", new long[] {2, 8}, words)
                .bf16("x.weight_scale", new long[] {2, 2}, new float[] {1, 2, 0.5f, 4})
                .i32("x.weight_shape", new long[] {2}, new int[] {2, 64})
                .write(dir.resolve("model.safetensors"));
        try (SafetensorsCheckpoint c = SafetensorsCheckpoint.open(dir)) {
            assertTrue(c.hasTensor("x.weight"));
            Tensor t = c.tensor("x.weight");
            assertEquals(GgmlType.CT_INT4, t.type());
            assertArrayEquals(new long[] {64, 2}, t.shape());
            float[] v = new float[128];
            t.dequantizeRows(0, 2, v, 0);
            float[] scale = {1, 2, 0.5f, 4};
            for (int i = 0; i < 128; i++) {
                assertEquals(q[i] * scale[i / 32], v[i], "value " + i);
            }
        }
    }

    @Test
    void int4ShapeMismatchIsReported() throws IOException {
        new SafetensorsWriter().i32("x.weight_packed", new long[] {2, 4}, new int[8])
                .bf16("x.weight_scale", new long[] {2, 1}, new float[2])
                .i32("x.weight_shape", new long[] {2}, new int[] {2, 64})
                .write(dir.resolve("model.safetensors"));
        try (SafetensorsCheckpoint c = SafetensorsCheckpoint.open(dir)) {
            var e = assertThrows(SafetensorsFormatException.class, () -> c.tensor("x.weight"));
            assertTrue(e.getMessage().contains("weight_shape (2, 64)"), e.getMessage());
        }
    }

    @Test
    void shardedCheckpointThroughTheIndex() throws IOException {
        new SafetensorsWriter().f32("a", new long[] {2}, new float[] {1, 2}).write(dir.resolve("model-00001-of-00002.safetensors"));
        new SafetensorsWriter().f32("b", new long[] {1}, new float[] {3}).write(dir.resolve("model-00002-of-00002.safetensors"));
        Files.writeString(dir.resolve(SafetensorsCheckpoint.INDEX), """
                {"metadata": {"total_size": 12}, "weight_map": {"a": "model-00001-of-00002.safetensors",
                 "b": "model-00002-of-00002.safetensors"}}""");
        try (SafetensorsCheckpoint c = SafetensorsCheckpoint.open(dir)) {
            assertEquals(2, c.files().size());
            assertEquals(java.util.Set.of("a", "b"), c.names());
            assertEquals(dir.resolve("model-00002-of-00002.safetensors"), c.info("b").file());
        }
        Files.writeString(dir.resolve(SafetensorsCheckpoint.INDEX), """
                {"weight_map": {"a": "model-00002-of-00002.safetensors", "b": "model-00002-of-00002.safetensors"}}""");
        var e = assertThrows(SafetensorsFormatException.class, () -> SafetensorsCheckpoint.open(dir));
        assertTrue(e.getMessage().contains("'a'"), e.getMessage());
        Files.writeString(dir.resolve(SafetensorsCheckpoint.INDEX), """
                {"weight_map": {"a": "model-00001-of-00002.safetensors", "b": "missing.safetensors"}}""");
        e = assertThrows(SafetensorsFormatException.class, () -> SafetensorsCheckpoint.open(dir));
        assertTrue(e.getMessage().contains("missing.safetensors"), e.getMessage());
    }

    @Test
    void duplicateNamesAcrossShardsWithoutIndex() throws IOException {
        new SafetensorsWriter().f32("a", new long[] {1}, new float[] {1}).write(dir.resolve("x.safetensors"));
        new SafetensorsWriter().f32("a", new long[] {1}, new float[] {2}).write(dir.resolve("y.safetensors"));
        var e = assertThrows(SafetensorsFormatException.class, () -> SafetensorsCheckpoint.open(dir));
        assertTrue(e.getMessage().contains("also in x.safetensors"), e.getMessage());
    }

    // ---- hostile files ----

    @Test
    void offsetsOutsideTheData() throws IOException {
        var e = bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 4);
        assertTrue(e.getMessage().contains("outside the 4 data bytes"), e.getMessage());
    }

    @Test
    void overlappingRanges() throws IOException {
        var e = bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12);
        assertTrue(e.getMessage().contains("overlaps 'a'"), e.getMessage());
    }

    @Test
    void unsortedRange() throws IOException {
        var e = bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,4]}}", 8);
        assertTrue(e.getMessage().contains("not an ordered range"), e.getMessage());
    }

    @Test
    void rangesListedOutOfOrderAreFineButGapsAreNot() throws IOException {
        Path ok = dir.resolve("ok.safetensors");
        SafetensorsWriter.writeRaw(ok, ("{\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]},"
                + "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}").getBytes(StandardCharsets.UTF_8), new byte[8]);
        try (Arena a = Arena.ofConfined()) {
            assertEquals(2, SafetensorsFile.open(ok, a).tensors().size());
        }
        var e = bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8);
        assertTrue(e.getMessage().contains("gap of 4 bytes"), e.getMessage());
        e = bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 8);
        assertTrue(e.getMessage().contains("4 bytes after the last tensor"), e.getMessage());
    }

    @Test
    void headerLongerThanTheFile() throws IOException {
        Path p = dir.resolve("long.safetensors");
        ByteBuffer b = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(1000).put("{}      ".getBytes());
        Files.write(p, b.array());
        var e = bad(p);
        assertEquals(0, e.offset());
        assertTrue(e.getMessage().contains("runs past the end"), e.getMessage());
        Path huge = dir.resolve("huge.safetensors");
        Files.write(huge, ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(-1L).array());
        assertTrue(bad(huge).getMessage().contains("expected 2 to"));
        Path tiny = dir.resolve("tiny.safetensors");
        Files.write(tiny, new byte[3]);
        assertTrue(bad(tiny).getMessage().contains("at least the 8-byte header length"));
    }

    @Test
    void nonUtf8Name() throws IOException {
        byte[] h = "{\"a?\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}".getBytes(StandardCharsets.UTF_8);
        h[3] = (byte) 0xFF;
        Path p = dir.resolve("utf.safetensors");
        SafetensorsWriter.writeRaw(p, h, new byte[4]);
        var e = bad(p);
        assertEquals(8 + 3, e.offset());
        assertTrue(e.getMessage().contains("not valid UTF-8"), e.getMessage());
    }

    @Test
    void duplicateNames() throws IOException {
        var e = bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                + "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8);
        assertTrue(e.getMessage().contains("Duplicate field 'a'"), e.getMessage());
    }

    @Test
    void wrongSizesAndTypes() throws IOException {
        assertTrue(bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8)
                .getMessage().contains("needs 12 bytes"));
        assertTrue(bad("{\"a\":{\"dtype\":\"Q4\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4)
                .getMessage().contains("is not one of"));
        assertTrue(bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4)
                .getMessage().contains("expected an integer >= 0"));
        assertTrue(bad("{\"a\":{\"dtype\":\"F4\",\"shape\":[3],\"data_offsets\":[0,2]}}", 2)
                .getMessage().contains("whole number"));
        assertTrue(bad("[1,2]", 0).getMessage().contains("JSON object"));
        assertTrue(bad("{\"a\": ", 0).getMessage().contains("not valid JSON"));
    }
}
