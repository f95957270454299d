package io.trillium.tier;

import io.trillium.backend.CpuBackend;
import io.trillium.fixtures.Fixtures;
import io.trillium.gguf.GgufFile;
import io.trillium.gguf.GgufTensorInfo;
import io.trillium.model.LanguageModel;
import io.trillium.model.Models;
import io.trillium.moe.ExpertWeights;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.*;

class ExpertCacheTest {
    // repeats, so the cache must hit on the second pass
    private static final int[] TOKENS = {1, 5, 9, 1, 5, 9};

    static Path model(String name) {
        return Fixtures.models().resolve(name + ".gguf");
    }

    /** Logits of each token fed one at a time (a warm-up run first: interpreted vector code rounds differently). */
    static float[][] run(LanguageModel m) {
        for (int i = 0; i < 3; i++) {   // a new expert source can send the kernels back to the interpreter
            m.forward(m.newState(TOKENS.length), TOKENS);
        }
        LanguageModel.State s = m.newState(TOKENS.length);
        float[][] out = new float[TOKENS.length][];
        for (int i = 0; i < TOKENS.length; i++) {
            out[i] = m.forward(s, new int[] {TOKENS[i]}).clone();
        }
        return out;
    }

    static float[][] reference(Path file) throws IOException {
        try (LanguageModel m = Models.load(file, new CpuBackend(2))) {
            for (int i = 0; i < 6; i++) {   // until the JIT has compiled the kernels for good
                run(m);
            }
            return run(m);
        }
    }

    /** Bytes of all routed experts of the file. */
    static long expertBytes(Path file) throws IOException {
        try (GgufFile g = GgufFile.open(file)) {
            return g.tensors().stream().filter(t -> t.name().contains("_exps.")).mapToLong(GgufTensorInfo::byteSize).sum();
        }
    }

    /**
     * The tiers serve the file's exact bytes (checked byte for byte elsewhere in this class), so the
     * logits are bit-identical once every run is JIT-compiled. A kernel caught in the interpreter or
     * C1 sums in another order (~1 ulp, see DecodeAllocationTest), which CI load can cause at any
     * time; so a difference is tolerated only at that level (rel-L2 ≤ 1e-6) — a wrong or partial
     * expert moves the logits by orders of magnitude more.
     */
    static void assertLogits(float[][] want, float[][] got) {
        for (int i = 0; i < want.length; i++) {
            if (!java.util.Arrays.equals(want[i], got[i])) {
                double rel = Fixtures.relL2(got[i], want[i]);
                System.out.printf("token %d: not bit-identical (JIT rounding), rel-L2 %.2e%n", i, rel);
                assertTrue(rel <= 1e-6, "token " + i + ": rel-L2 " + rel);
            }
        }
    }

    /** A placement that remembers the cache it made. */
    private static ExpertPlacement capture(Tier tier, long budget, AtomicReference<ExpertCache> ref) {
        return (g, moe, n) -> {
            ExpertCache c = new ExpertCache(g, moe, n, tier, new DramTier(budget));
            ref.set(c);
            return c;
        };
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"ds2-tiny-F32", "ds2-tiny-Q4_K_M", "qwen3moe-tiny-F32"})
    void everyPlacementGivesTheSameLogits(String name) throws IOException {
        Path file = model(name);
        float[][] want = reference(file);
        try (LanguageModel m = Models.load(file, new CpuBackend(2), ExpertPlacement.mapped())) {
            assertLogits(want, run(m));
        }
        long all = expertBytes(file);
        long small = all / 5;   // forces eviction
        try (LanguageModel m = Models.load(file, new CpuBackend(2), ExpertPlacement.cached(NvmeTier::new, small))) {
            assertLogits(want, run(m));
        }
        Tier[] tiers = {new NvmeTier(), new PmemTier(false)};
        for (Tier tier : tiers) {
            AtomicReference<ExpertCache> cache = new AtomicReference<>();
            try (LanguageModel m = Models.load(file, new CpuBackend(2), capture(tier, small, cache))) {
                assertLogits(want, run(m));
                ExpertCache.Stats st = cache.get().stats();
                assertTrue(st.dramUsed() <= small, st.toString());
                assertTrue(st.hits() > 0, st.toString());
                assertTrue(st.bytesRead() > small, "evicted and re-read: " + st);
                assertEquals(tier.name(), st.tier());
            }
        }
    }

    @Test
    void budgetHoldsAfterEveryAcquire() throws IOException {
        Path file = model("ds2-tiny-Q4_K_M");
        try (GgufFile g = GgufFile.open(file); NvmeTier tier = new NvmeTier()) {
            int layers = g.metadata().getInt("deepseek2.block_count");
            boolean[] moe = new boolean[layers];
            int experts = -1;
            for (int l = 0; l < layers; l++) {
                if (g.hasTensor("blk." + l + ".ffn_gate_exps.weight")) {
                    moe[l] = true;
                    experts = Math.toIntExact(g.tensorInfo("blk." + l + ".ffn_gate_exps.weight").dim(2));
                }
            }
            long budget = expertBytes(file) / 7;
            ExpertCache c = new ExpertCache(g, moe, experts, tier, new DramTier(budget));
            Random r = new Random(1);
            for (int i = 0; i < 2000; i++) {
                int l;
                do {
                    l = r.nextInt(layers);
                } while (!moe[l]);
                int e = r.nextInt(experts);
                ExpertWeights w = c.expert(l, e);
                assertTrue(c.stats().dramUsed() <= budget, c.stats().toString());
                // the slot holds exactly the file's bytes
                MemorySegment want = g.tensor("blk." + l + ".ffn_down_exps.weight").expert(e).data();
                assertEquals(-1, want.mismatch(w.down().data()));
            }
            assertTrue(c.stats().hits() > 0 && c.stats().misses() > 0, c.stats().toString());
        }
    }

    @Test
    void concurrentReadersSeeTheFileBytesWithinBudget() throws Exception {
        Path file = model("qwen3moe-tiny-F32");
        try (GgufFile g = GgufFile.open(file); NvmeTier tier = new NvmeTier()) {
            int layers = g.metadata().getInt("qwen3moe.block_count");
            int experts = Math.toIntExact(g.tensorInfo("blk.0.ffn_gate_exps.weight").dim(2));
            boolean[] moe = new boolean[layers];
            java.util.Arrays.fill(moe, true);
            long one = 3 * g.tensorInfo("blk.0.ffn_gate_exps.weight").byteSize() / experts;
            // a ninth of the experts, and just two slots for four threads (reads in flight wait for budget)
            for (long budget : new long[] {expertBytes(file) / 9, 2 * one}) {
                hammer(g, layers, experts, new ExpertCache(g, moe, experts, tier, new DramTier(budget)), budget);
            }
        }
    }

    private static void hammer(GgufFile g, int layers, int experts, ExpertCache c, long budget) throws Exception {
        {
            Thread[] ts = new Thread[4];
            AtomicReference<Throwable> failure = new AtomicReference<>();
            for (int t = 0; t < ts.length; t++) {
                long seed = t;
                ts[t] = Thread.ofPlatform().start(() -> {
                    try {
                        Random r = new Random(seed);
                        for (int i = 0; i < 500; i++) {
                            int l = r.nextInt(layers);
                            int e = r.nextInt(experts);
                            ExpertWeights w = c.expert(l, e);
                            // evicted or not, a view taken stays readable and holds the file's bytes
                            MemorySegment want = g.tensor("blk." + l + ".ffn_up_exps.weight").expert(e).data();
                            assertEquals(-1, want.mismatch(w.up().data()));
                            assertTrue(c.stats().dramUsed() <= budget);
                        }
                    } catch (Throwable x) {
                        failure.compareAndSet(null, x);
                    }
                });
            }
            for (Thread t : ts) {
                t.join();
            }
            assertNull(failure.get(), () -> String.valueOf(failure.get()));
            assertTrue(c.stats().misses() > 0 && c.stats().dramUsed() <= budget, c.stats().toString());
        }
    }

    /** Reads from a truncated copy of the file while {@code broken}: the real short-read path of NvmeTier. */
    private static final class FlakyTier implements Tier {
        final NvmeTier nvme = new NvmeTier();
        final Path truncated;
        volatile boolean broken;

        FlakyTier(Path truncated) {
            this.truncated = truncated;
        }

        @Override
        public String name() {
            return "flaky";
        }

        @Override
        public MemorySegment read(Path file, long offset, long length, Arena arena) {
            return nvme.read(broken ? truncated : file, offset, length, arena);
        }

        @Override
        public void close() {
            nvme.close();
        }
    }

    @Test
    void failedReadNamesFileAndOffsetAndModelRecovers() throws IOException {
        Path file = model("qwen3moe-tiny-F32");
        float[][] want = reference(file);
        Path dir = Files.createDirectories(Path.of("target", "tier-test"));   // on disk: O_DIRECT needs a real fs
        Path truncated = dir.resolve("truncated.gguf");
        Files.copy(file, truncated, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        try (RandomAccessFile raf = new RandomAccessFile(truncated.toFile(), "rw")) {
            raf.setLength(8192);
        }
        FlakyTier tier = new FlakyTier(truncated);
        AtomicReference<ExpertCache> cache = new AtomicReference<>();
        long budget = expertBytes(file) / 5;
        try (LanguageModel m = Models.load(file, new CpuBackend(2), capture(tier, budget, cache))) {
            tier.broken = true;
            TierIOException ex = assertThrows(TierIOException.class, () -> m.forward(m.newState(4), new int[] {1}));
            assertEquals(truncated, ex.file());
            assertTrue(ex.offset() > 8192, ex.getMessage());
            assertTrue(ex.getMessage().contains(truncated.toString()) && ex.getMessage().contains(
                    String.valueOf(ex.offset())), ex.getMessage());
            assertEquals(0, cache.get().size(), "nothing half-read is cached");
            assertEquals(0, cache.get().stats().dramUsed(), "a failed read gives its slot back");
            tier.broken = false;
            assertLogits(want, run(m));
        }
    }

    @Test
    void shortReadPastEndIsAnError() throws IOException {
        Path file = model("qwen3moe-tiny-F32");
        long size = Files.size(file);
        try (NvmeTier t = new NvmeTier(); Arena a = Arena.ofConfined()) {
            TierIOException ex = assertThrows(TierIOException.class, () -> t.read(file, size - 100, 200, a));
            assertEquals(size - 100, ex.offset());
            // unaligned ranges come back exact
            MemorySegment got = t.read(file, 4097, 5000, a);
            assertEquals(5000, got.byteSize());
            try (PmemTier p = new PmemTier(false)) {
                assertEquals(-1, p.read(file, 4097, 5000, a).mismatch(got));
            }
        }
    }

    @Test
    void strictDaxExplainsHowToMount() {
        Path file = model("qwen3moe-tiny-F32");
        try (PmemTier p = new PmemTier(true); Arena a = Arena.ofConfined()) {
            try {
                p.read(file, 0, 16, a);   // a DAX mount here: nothing to explain
            } catch (TierIOException e) {
                assertTrue(e.getMessage().contains("mount -o dax"), e.getMessage());
            }
        }
    }
}
