package io.trillium.gguf;

import io.trillium.fixtures.Fixtures;
import io.trillium.quant.GgmlType;
import io.trillium.quant.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Files past 2 and 4 GiB: offsets are longs everywhere, and opening touches only the header.
 * The file is sparse, so it costs no disk space; {@link TempDir} deletes it afterwards.
 */
class GgufLargeFileTest {
    private static final long GIB = 1L << 30;

    @TempDir
    Path dir;

    @Test
    void sparseFiveGibFileOpensFastAndReadsBeyondFourGib() throws IOException {
        Path p = dir.resolve("big.gguf");
        // header written by the writer with no data callback: the data region stays a hole
        new GgufWriter()
                .put("general.architecture", GgufValue.string("big"))
                .tensor("near", GgmlType.F32, 8)
                .tensor("pad", GgmlType.I8, 4 * GIB + 12345 * 32)   // 4 GiB of nothing
                .tensor("far", GgmlType.F32, 16, 2)
                .write(p, null);
        long farAt;
        try (GgufFile g = GgufFile.open(p)) {
            farAt = g.tensorInfo("far").fileOffset();
        }
        assertTrue(farAt > 4 * GIB, "far is placed beyond 4 GiB: " + farAt);
        try (RandomAccessFile f = new RandomAccessFile(p.toFile(), "rw")) {
            f.seek(farAt);
            for (int i = 0; i < 32; i++) {
                f.writeInt(Integer.reverseBytes(Float.floatToIntBits(i + 0.5f))); // little-endian floats
            }
            f.setLength(5 * GIB); // trailing bytes after the last tensor are allowed
        }
        assertEquals(5 * GIB, Files.size(p));

        // Opening must not touch the data: the 4 GiB hole stays a hole (checked below), whatever the clock says.
        try (GgufFile g = GgufFile.open(p)) {
            assertEquals(3, g.tensors().size());
            Tensor far = g.tensor("far");
            assertEquals(128, far.data().byteSize());
            for (int i = 0; i < 32; i++) {
                assertEquals(i + 0.5f, far.data().get(ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(
                        java.nio.ByteOrder.LITTLE_ENDIAN), 4L * i));
            }
            assertEquals(16.5f, far.rows(1, 2).data().get(ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(
                    java.nio.ByteOrder.LITTLE_ENDIAN), 0));
            Tensor pad = g.tensor("pad");
            assertEquals(4 * GIB + 12345 * 32, pad.data().byteSize());
            assertEquals(0, pad.data().get(ValueLayout.JAVA_BYTE, pad.data().byteSize() - 1));
            assertTrue(Fixtures.allocatedBytes(p) < 64L << 20 || Fixtures.allocatedBytes(p) < 0, "the file stays sparse");
        }
        Files.delete(p);
    }

    @Test
    void writerStreamsTensorsBeyondFourGib() throws IOException {
        Path p = dir.resolve("streamed.gguf");
        long padBytes = 4 * GIB + 64;
        new GgufWriter()
                .tensor("pad", GgmlType.I8, padBytes)
                .tensor("far", GgmlType.F32, 8)
                .write(p, (t, dst) -> {
                    // the writer hands over the whole >2 GiB window; touch only its ends
                    dst.set(ValueLayout.JAVA_BYTE, 0, (byte) 1);
                    dst.set(ValueLayout.JAVA_BYTE, dst.byteSize() - 1, (byte) 2);
                });
        try (GgufFile g = GgufFile.open(p)) {
            Tensor pad = g.tensor("pad");
            assertEquals(padBytes, pad.data().byteSize());
            assertEquals(1, pad.data().get(ValueLayout.JAVA_BYTE, 0));
            assertEquals(2, pad.data().get(ValueLayout.JAVA_BYTE, padBytes - 1));
            Tensor far = g.tensor("far");
            assertTrue(g.tensorInfo("far").fileOffset() > 4 * GIB);
            assertEquals(1, far.data().get(ValueLayout.JAVA_BYTE, 0));
            assertEquals(2, far.data().get(ValueLayout.JAVA_BYTE, 31));
        }
        Files.delete(p);
    }
}
