package io.trillium.gguf;

import io.trillium.quant.GgmlType;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.List;

/** Small models written with {@link GgufWriter} and the deterministic bytes they hold. */
final class GgufTestFiles {
    private GgufTestFiles() {
    }

    /** Byte {@code i} of tensor {@code name}: a cheap hash, different per tensor. */
    static byte pattern(String name, long i) {
        long h = name.hashCode() * 0x9E3779B97F4A7C15L + i * 0xBF58476D1CE4E5B9L;
        return (byte) (h ^ (h >>> 29) ^ (h >>> 47));
    }

    static final GgufWriter.TensorData PATTERN = (t, dst) -> {
        for (long i = 0; i < dst.byteSize(); i++) {
            dst.set(ValueLayout.JAVA_BYTE, i, pattern(t.name(), i));
        }
    };

    /** Index of the first byte of {@code data} that differs from the pattern of {@code name}, or -1. */
    static long mismatch(String name, MemorySegment data) {
        for (long i = 0; i < data.byteSize(); i++) {
            if (data.get(ValueLayout.JAVA_BYTE, i) != pattern(name, i)) {
                return i;
            }
        }
        return -1;
    }

    /** A writer declaring a small model: a few metadata keys and {@code n} tensors of mixed types. */
    static GgufWriter model(int n) {
        GgufWriter w = new GgufWriter()
                .put("general.architecture", GgufValue.string("test"))
                .put("test.block_count", GgufValue.u32(n))
                .put("tokenizer.ggml.tokens", GgufValue.strings(List.of("a", "b", "c")));
        GgmlType[] types = {GgmlType.F32, GgmlType.Q8_0, GgmlType.Q4_K, GgmlType.F16, GgmlType.Q6_K};
        for (int i = 0; i < n; i++) {
            GgmlType t = types[i % types.length];
            w.tensor("blk." + i + ".weight", t, t.blockSize() * (long) (1 + i % 3), 3 + i % 2);
        }
        return w;
    }

    /** Writes a model of {@code n} tensors to {@code path} with a valid header and patterned data. */
    static Path write(Path path, int n) throws IOException {
        return model(n).write(path, PATTERN);
    }
}
