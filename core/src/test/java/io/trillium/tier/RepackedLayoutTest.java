package io.trillium.tier;

import io.trillium.backend.CpuBackend;
import io.trillium.gguf.GgufFile;
import io.trillium.model.LanguageModel;
import io.trillium.model.ModelConfig;
import io.trillium.model.Models;
import io.trillium.moe.ExpertStats;
import io.trillium.quant.GgmlType;
import io.trillium.quant.Numerics;
import io.trillium.quant.Tensor;
import io.trillium.synth.ModelSynthesizer;
import io.trillium.synth.SynthSpec;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Comparator;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

class RepackedLayoutTest {
    private Path dir;   // on disk under target/: O_DIRECT needs a real file system, not tmpfs

    @BeforeEach
    void makeDir() throws IOException {
        dir = Files.createTempDirectory(Files.createDirectories(Path.of("target", "repack-test")), "t");
    }

    @AfterEach
    void removeDir() throws IOException {
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }

    /** The MoE layers and expert count the models pass to their placement. */
    private record Shape(boolean[] moe, int experts) {
        static Shape of(GgufFile g) {
            ModelConfig c = ModelConfig.fromGguf(g.metadata());
            boolean[] moe = new boolean[c.layers()];
            for (int l = 0; l < moe.length; l++) {
                moe[l] = c.isMoeLayer(l);
            }
            return new Shape(moe, c.experts());
        }
    }

    private Path synth(long seed) throws IOException {
        SynthSpec s = SynthSpec.presetBuilder("ds2-tiny").vocab(1000).weightType(GgmlType.Q4_K).seed(seed).build();
        return new ModelSynthesizer(s).threads(2).write(dir.resolve("synth-" + seed + ".gguf")).path();
    }

    /** A copy of a fixture model in {@link #dir} (so that its {@code MODEL.experts} can lie beside it). */
    private Path fixture(String name) throws IOException {
        return Files.copy(ExpertCacheTest.model(name), dir.resolve(name + ".gguf"));
    }

    private Path model(String which) throws IOException {
        return which.equals("synth") ? synth(3) : fixture(which);
    }

    /** Random popularity counts. */
    private static ExpertStats stats(Shape s, long seed) {
        ExpertStats st = new ExpertStats(s.moe.length, s.experts);
        Random r = new Random(seed);
        for (int l = 0; l < s.moe.length; l++) {
            for (int i = 0; s.moe[l] && i < 200; i++) {
                st.record(l, new int[] {r.nextInt(s.experts), (int) Math.abs(r.nextGaussian() * 3) % s.experts}, 2);
            }
        }
        return st;
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"synth", "ds2-tiny-Q4_K_M", "qwen3moe-tiny-F32"})
    void everyExpertIsTheGgufBytesAlignedInPopularityOrder(String which) throws IOException {
        Path file = model(which);
        try (GgufFile g = GgufFile.open(file); Arena a = Arena.ofConfined()) {
            Shape s = Shape.of(g);
            ExpertStats st = stats(s, 7);
            Path plain = dir.resolve("plain.experts");
            Path byPop = dir.resolve("popular.experts");
            RepackedLayout.write(g, s.moe, s.experts, null, plain);
            RepackedLayout.write(g, s.moe, s.experts, st, byPop);
            for (Path p : new Path[] {plain, byPop}) {
                RepackedLayout r = RepackedLayout.open(p, g, s.moe, s.experts);
                MemorySegment bytes;
                try (FileChannel ch = FileChannel.open(p, StandardOpenOption.READ)) {
                    bytes = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), a);
                }
                assertEquals(0, bytes.byteSize() % RepackedLayout.ALIGN, "ends on a block");
                for (int l = 0; l < s.moe.length; l++) {
                    assertEquals(s.moe[l], r.isMoe(l));
                    if (!s.moe[l]) {
                        continue;
                    }
                    int[] order = r.order(l);
                    int[] want = p == byPop ? st.byPopularity(l) : java.util.stream.IntStream.range(0, s.experts).toArray();
                    assertArrayEquals(want, order, "layer " + l + " order");
                    long previous = -1;
                    for (int e : order) {
                        ExpertLayout.Part[] parts = r.parts(l, e);
                        assertEquals(0, parts[0].offset() % RepackedLayout.ALIGN, "expert " + e + " aligned");
                        assertTrue(parts[0].offset() > previous, "file order is the index order");
                        previous = parts[0].offset();
                        String[] w = {"gate", "up", "down"};
                        for (int k = 0; k < 3; k++) {
                            if (k > 0) {
                                assertEquals(parts[k - 1].offset() + parts[k - 1].bytes(), parts[k].offset(), "adjacent");
                            }
                            Tensor t = g.tensor("blk." + l + ".ffn_" + w[k] + "_exps.weight").expert(e);
                            assertEquals(t.type(), parts[k].type());
                            assertEquals(t.data().byteSize(), parts[k].bytes());
                            assertEquals(-1, t.data().mismatch(bytes.asSlice(parts[k].offset(), parts[k].bytes())),
                                    "layer " + l + " expert " + e + " " + w[k]);
                        }
                    }
                }
            }
        }
    }

    /** Counts the tier's reads: a repacked expert is one read, a GGUF one three. */
    private static final class CountingTier implements Tier {
        final NvmeTier nvme = new NvmeTier();
        final AtomicInteger reads = new AtomicInteger();
        final java.util.concurrent.atomic.AtomicLong bytes = new java.util.concurrent.atomic.AtomicLong();
        final java.util.Set<Long> lengths = java.util.concurrent.ConcurrentHashMap.newKeySet();

        @Override
        public String name() {
            return "nvme";
        }

        @Override
        public MemorySegment read(Path file, long offset, long length, Arena arena) {
            reads.incrementAndGet();
            bytes.addAndGet(length);
            lengths.add(length);
            return nvme.read(file, offset, length, arena);
        }

        @Override
        public void close() {
            nvme.close();
        }
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"synth", "ds2-tiny-Q4_K_M", "qwen3moe-tiny-F32"})
    void repackedExpertsGiveTheSameLogitsInOneReadEach(String which) throws IOException {
        Path file = model(which);
        Path repacked = RepackedLayout.beside(file);
        try (GgufFile g = GgufFile.open(file)) {
            Shape s = Shape.of(g);
            RepackedLayout.write(g, s.moe, s.experts, stats(s, 1), repacked);
        }
        float[][] want = ExpertCacheTest.reference(file);
        long small = ExpertCacheTest.expertBytes(file) / 5;   // forces eviction and re-reads
        try (LanguageModel m = Models.load(file, new CpuBackend(2, Numerics.EXACT), ExpertPlacement.cached(NvmeTier::new, small, repacked))) {
            ExpertCacheTest.assertLogits(want, ExpertCacheTest.run(m));
        }
        // MODEL.experts beside the model is what the NVMe placement reads
        CountingTier tier = new CountingTier();
        ExpertCache[] cache = new ExpertCache[1];
        ExpertPlacement counting = (g, moe, n) -> {
            try {
                return cache[0] = new ExpertCache(RepackedLayout.open(repacked, g, moe, n), tier, new DramTier(small),
                        ExpertCache.Policy.LRU, 4);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        };
        try (LanguageModel m = Models.load(file, new CpuBackend(2, Numerics.EXACT), counting)) {
            ExpertCacheTest.assertLogits(want, ExpertCacheTest.run(m));
            // every read (demand or prefetch) is one whole expert: gate, up and down in one range
            ExpertCache.Stats st = cache[0].stats();
            assertEquals(st.bytesRead(), tier.bytes.get());
            assertTrue(tier.reads.get() >= st.misses());
            java.util.Set<Long> whole = new java.util.HashSet<>();
            try (GgufFile g = GgufFile.open(file)) {
                Shape s = Shape.of(g);
                ExpertLayout layout = ExpertLayout.gguf(g, s.moe, s.experts);
                for (int l = 0; l < s.moe.length; l++) {
                    if (s.moe[l]) {
                        whole.add(layout.expertBytes(l));
                    }
                }
            }
            assertTrue(whole.containsAll(tier.lengths), "reads of whole experts " + whole + ": " + tier.lengths);
            assertTrue(cache[0].stats().bytesRead() > small);
        }
        try (LanguageModel m = Models.load(file, new CpuBackend(2, Numerics.EXACT), ExpertPlacement.nvme(small))) {
            ExpertCacheTest.assertLogits(want, ExpertCacheTest.run(m));
        }
    }

    @Test
    void hostileFilesGiveSpecificErrors() throws IOException {
        Path file = synth(3);
        Path other = synth(4);   // same shape and header, other weights
        Path good = dir.resolve("good.experts");
        try (GgufFile g = GgufFile.open(file); GgufFile o = GgufFile.open(other);
             GgufFile q = GgufFile.open(ExpertCacheTest.model("qwen3moe-tiny-F32"))) {
            Shape s = Shape.of(g);
            RepackedLayout.write(g, s.moe, s.experts, null, good);
            long size = Files.size(good);
            int indexLength;
            try (RandomAccessFile raf = new RandomAccessFile(good.toFile(), "r")) {
                raf.seek(12);
                indexLength = Integer.reverseBytes(raf.readInt());
            }

            assertError(o, s, good, "does not belong to", "expert tensors' first bytes differ", other.toString(),
                    good.toString());
            Shape qs = Shape.of(q);
            assertError(q, qs, good, "does not belong to", "model size", "qwen3moe-tiny-F32.gguf");
            assertError(g, new Shape(s.moe, s.experts / 2), good, "16 experts", "vs 3 x 8");

            Path bad = variant(good, "magic.experts", raf -> raf.write("GGUF".getBytes()));
            assertError(g, s, bad, "not a trillium expert repack file", "magic at offset 0");
            bad = variant(good, "version.experts", raf -> {
                raf.seek(8);
                raf.writeInt(Integer.reverseBytes(9));
            });
            assertError(g, s, bad, "version 9 at offset 8");
            bad = variant(good, "crc.experts", raf -> {
                raf.seek(indexLength - 20);
                raf.write(0x5a);
            });
            assertError(g, s, bad, "corrupt index: CRC-32 at offset " + indexLength);
            bad = variant(good, "short-index.experts", raf -> raf.setLength(indexLength - 100));
            assertError(g, s, bad, "truncated index", "offset 12", "has " + (indexLength - 100) + " bytes");
            bad = variant(good, "short-data.experts", raf -> raf.setLength(size - 5000));
            assertError(g, s, bad, "truncated: expert", "the file has " + (size - 5000) + " bytes");
            bad = variant(good, "tiny.experts", raf -> raf.setLength(5));
            assertError(g, s, bad, "truncated: 5 bytes");

            // the NVMe placement does not skip a stale MODEL.experts: loading fails naming both files
            Files.copy(good, RepackedLayout.beside(other));
            UncheckedIOException e = assertThrows(UncheckedIOException.class,
                    () -> Models.load(other, new CpuBackend(1, Numerics.EXACT), ExpertPlacement.nvme(1 << 20)).close());
            assertTrue(e.getMessage().contains(other.toString()) && e.getMessage().contains("does not belong"),
                    e.getMessage());
        }
    }

    private interface Edit {
        void apply(RandomAccessFile raf) throws IOException;
    }

    private Path variant(Path good, String name, Edit edit) throws IOException {
        Path p = Files.copy(good, dir.resolve(name), StandardCopyOption.REPLACE_EXISTING);
        try (RandomAccessFile raf = new RandomAccessFile(p.toFile(), "rw")) {
            edit.apply(raf);
        }
        return p;
    }

    private static void assertError(GgufFile g, Shape s, Path repack, String... parts) {
        IOException e = assertThrows(IOException.class, () -> RepackedLayout.open(repack, g, s.moe, s.experts));
        assertTrue(e.getMessage().startsWith(repack.toString()), e.getMessage());
        for (String p : parts) {
            assertTrue(e.getMessage().contains(p), "'" + p + "' in: " + e.getMessage());
        }
    }

    @Test
    void refusesToOverwrite() throws IOException {
        Path file = fixture("ds2-tiny-Q4_K_M");
        Path out = dir.resolve("x.experts");
        Files.writeString(out, "mine");
        try (GgufFile g = GgufFile.open(file)) {
            Shape s = Shape.of(g);
            assertThrows(FileAlreadyExistsException.class, () -> RepackedLayout.write(g, s.moe, s.experts, null, out));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> RepackedLayout.write(g,
                    s.moe, s.experts, new ExpertStats(s.moe.length + 1, s.experts), dir.resolve("y.experts")));
            assertTrue(e.getMessage().contains("statistics"), e.getMessage());
        }
        assertEquals("mine", Files.readString(out));
        try (Stream<Path> files = Files.list(dir)) {
            assertEquals(java.util.List.of("ds2-tiny-Q4_K_M.gguf", "x.experts"),
                    files.map(p -> p.getFileName().toString()).sorted().toList(), "no temporary files left");
        }
    }
}
