package io.trillium.gguf;

import io.trillium.quant.GgmlType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;

import static io.trillium.gguf.GgufTestFiles.PATTERN;
import static io.trillium.gguf.GgufTestFiles.mismatch;
import static org.junit.jupiter.api.Assertions.*;

class GgufSplitTest {
    @TempDir
    Path dir;

    @Test
    void threePartsReadAsOne() throws IOException {
        List<Path> parts = GgufTestFiles.model(10).writeSplit(dir.resolve("m.gguf"), 4, 0, PATTERN);
        assertEquals(List.of(dir.resolve("m-00001-of-00003.gguf"), dir.resolve("m-00002-of-00003.gguf"),
                dir.resolve("m-00003-of-00003.gguf")), parts);
        Path single = GgufTestFiles.write(dir.resolve("single.gguf"), 10);
        try (GgufFile g = GgufFile.open(parts.getFirst()); GgufFile s = GgufFile.open(single)) {
            assertEquals(parts, g.files());
            assertEquals(3, g.partCount());
            assertEquals(10, g.tensors().size());
            assertEquals("test", g.metadata().getString("general.architecture"));
            assertEquals(3, g.metadata().getInt("split.count"));
            assertEquals(10, g.metadata().getInt("split.tensors.count"));
            assertEquals(GgufValueType.UINT16, g.metadata().get("split.no").type());
            assertEquals(GgufValueType.INT32, g.metadata().get("split.tensors.count").type());
            assertFalse(g.metadata(1).has("general.architecture"), "only part 1 has the model metadata");
            assertEquals(1, g.metadata(1).getInt("split.no"));
            int[] perPart = new int[3];
            for (int i = 0; i < 10; i++) {
                GgufTensorInfo t = g.tensors().get(i);
                assertEquals("blk." + i + ".weight", t.name(), "file order across parts");
                assertEquals(i / 4, t.part());
                perPart[t.part()]++;
                assertEquals(g.dataOffset(t.part()) + t.offset(), t.fileOffset());
                assertEquals(-1, mismatch(t.name(), g.tensor(t.name()).data()), t.name());
                assertEquals(-1, g.tensor(t.name()).data().mismatch(s.tensor(t.name()).data()));
            }
            assertArrayEquals(new int[] {4, 4, 2}, perPart);
        }
    }

    @Test
    void splitByBytes() throws IOException {
        GgufWriter w = new GgufWriter().put("general.architecture", GgufValue.string("test"));
        for (int i = 0; i < 7; i++) {
            w.tensor("t" + i, GgmlType.F32, 256); // 1 KiB each
        }
        List<Path> parts = w.writeSplit(dir.resolve("b"), 0, 2048, PATTERN);
        assertEquals(4, parts.size());
        try (GgufFile g = GgufFile.open(parts.getFirst())) {
            assertEquals(7, g.tensors().size());
            for (GgufTensorInfo t : g.tensors()) {
                assertEquals(-1, mismatch(t.name(), g.tensor(t.name()).data()));
            }
        }
        assertThrows(FileAlreadyExistsException.class, () -> w.writeSplit(dir.resolve("b"), 0, 2048, PATTERN));
    }

    @Test
    void resplitAFixture() throws IOException {
        try (GgufFile src = GgufFile.open(io.trillium.fixtures.Fixtures.file("models/type-zoo.gguf"))) {
            GgufWriter w = new GgufWriter().putAll(src.metadata());
            for (GgufTensorInfo t : src.tensors()) {
                w.tensor(t.name(), t.type(), t.shape());
            }
            List<Path> parts = w.writeSplit(dir.resolve("zoo"), 0, 300_000, GgufWriter.TensorData.copyFrom(src));
            assertTrue(parts.size() > 2, parts.toString());
            try (GgufFile g = GgufFile.open(parts.getFirst())) {
                assertEquals(src.tensors().size(), g.tensors().size());
                assertEquals("zoo", g.metadata().getString("general.architecture"));
                for (GgufTensorInfo t : src.tensors()) {
                    assertEquals(-1, src.tensor(t.name()).data().mismatch(g.tensor(t.name()).data()), t.name());
                }
            }
        }
    }

    @Test
    void singlePartSet() throws IOException {
        List<Path> parts = GgufTestFiles.model(3).writeSplit(dir.resolve("one"), 0, 0, PATTERN);
        assertEquals(List.of(dir.resolve("one-00001-of-00001.gguf")), parts);
        try (GgufFile g = GgufFile.open(parts.getFirst())) {
            assertEquals(3, g.tensors().size());
        }
    }

    @Test
    void missingPartIsNamed() throws IOException {
        List<Path> parts = GgufTestFiles.model(10).writeSplit(dir.resolve("m"), 4, 0, PATTERN);
        Files.delete(parts.get(2));
        GgufFormatException e = assertThrows(GgufFormatException.class, () -> GgufFile.open(parts.getFirst()));
        assertTrue(e.getMessage().contains(parts.get(2).toString()), e.getMessage());
        assertEquals(parts.get(2), e.file());
    }

    @Test
    void laterPartIsRefusedWithAHint() throws IOException {
        List<Path> parts = GgufTestFiles.model(10).writeSplit(dir.resolve("m"), 4, 0, PATTERN);
        GgufFormatException e = assertThrows(GgufFormatException.class, () -> GgufFile.open(parts.get(1)));
        assertTrue(e.getMessage().contains("m-00001-of-00003.gguf"), e.getMessage());
    }

    @Test
    void mismatchedPartsAreRejected() throws IOException {
        List<Path> a = GgufTestFiles.model(10).writeSplit(dir.resolve("a"), 4, 0, PATTERN);
        List<Path> b = GgufTestFiles.model(9).writeSplit(dir.resolve("b"), 3, 0, PATTERN);
        Path saved = dir.resolve("saved");
        Files.copy(a.get(2), saved);

        // part 3 from another model: split.tensors.count 9 where the set holds 10
        Files.copy(b.get(2), a.get(2), StandardCopyOption.REPLACE_EXISTING);
        GgufFormatException e = assertThrows(GgufFormatException.class, () -> GgufFile.open(a.getFirst()));
        assertEquals(a.get(2), e.file(), e.getMessage());

        // part 2 copied in place of part 3: its split.no says 1
        Files.copy(a.get(1), a.get(2), StandardCopyOption.REPLACE_EXISTING);
        e = assertThrows(GgufFormatException.class, () -> GgufFile.open(a.getFirst()));
        assertTrue(e.getMessage().contains("blk.4.weight") || e.getMessage().contains("split.no"), e.getMessage());

        // right split.* keys but a tensor name already in part 1
        Files.delete(a.get(2));
        new GgufWriter().put("split.no", GgufValue.u16(2)).put("split.count", GgufValue.u16(3))
                .put("split.tensors.count", GgufValue.i32(10))
                .tensor("blk.0.weight", GgmlType.F32, 4).tensor("blk.9.weight", GgmlType.F32, 4)
                .write(a.get(2), PATTERN);
        e = assertThrows(GgufFormatException.class, () -> GgufFile.open(a.getFirst()));
        assertTrue(e.getMessage().contains("blk.0.weight") && e.getMessage().contains("unique"), e.getMessage());

        // a wrong split.count in one part
        Files.delete(a.get(2));
        new GgufWriter().put("split.no", GgufValue.u16(2)).put("split.count", GgufValue.u16(4))
                .put("split.tensors.count", GgufValue.i32(10))
                .tensor("blk.8.weight", GgmlType.F32, 4).tensor("blk.9.weight", GgmlType.F32, 4)
                .write(a.get(2), PATTERN);
        e = assertThrows(GgufFormatException.class, () -> GgufFile.open(a.getFirst()));
        assertTrue(e.getMessage().contains("split.count"), e.getMessage());

        // restored, it opens again
        Files.copy(saved, a.get(2), StandardCopyOption.REPLACE_EXISTING);
        try (GgufFile g = GgufFile.open(a.getFirst())) {
            assertEquals(10, g.tensors().size());
        }
    }

    @Test
    void splitNameWithoutSplitKeys() throws IOException {
        Path p = GgufTestFiles.write(dir.resolve("x-00001-of-00002.gguf"), 2);
        GgufFormatException e = assertThrows(GgufFormatException.class, () -> GgufFile.open(p));
        assertTrue(e.getMessage().contains("split.count"), e.getMessage());
    }
}
