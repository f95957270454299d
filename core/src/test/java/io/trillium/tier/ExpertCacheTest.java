package io.trillium.tier;

import io.trillium.backend.CpuBackend;
import io.trillium.fixtures.Fixtures;
import io.trillium.gguf.GgufFile;
import io.trillium.gguf.GgufTensorInfo;
import io.trillium.model.LanguageModel;
import io.trillium.model.Models;
import io.trillium.moe.ExpertWeights;
import io.trillium.quant.Numerics;
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
        try (LanguageModel m = Models.load(file, new CpuBackend(2, Numerics.EXACT))) {
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
        try (LanguageModel m = Models.load(file, new CpuBackend(2, Numerics.EXACT), ExpertPlacement.mapped())) {
            assertLogits(want, run(m));
        }
        long all = expertBytes(file);
        long small = all / 5;   // forces eviction
        try (LanguageModel m = Models.load(file, new CpuBackend(2, Numerics.EXACT), ExpertPlacement.cached(NvmeTier::new, small))) {
            assertLogits(want, run(m));
        }
        Tier[] tiers = {new NvmeTier(), new PmemTier(false)};
        for (Tier tier : tiers) {
            AtomicReference<ExpertCache> cache = new AtomicReference<>();
            try (LanguageModel m = Models.load(file, new CpuBackend(2, Numerics.EXACT), capture(tier, small, cache))) {
                assertLogits(want, run(m));
                ExpertCache.Stats st = cache.get().stats();
                assertTrue(st.dramUsed() <= small, st.toString());
                assertTrue(st.misses() > 0, st.toString());   // a fifth of the experts: hits depend on routing
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
                c.release(l, e);
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
                            // held, the slot is not evicted or reused by the other threads' misses
                            MemorySegment want = g.tensor("blk." + l + ".ffn_up_exps.weight").expert(e).data();
                            assertEquals(-1, want.mismatch(w.up().data()));
                            c.release(l, e);
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
    void failedReadNamesFileAndOffsetAndModelRecovers() throws Exception {
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
        try (LanguageModel m = Models.load(file, new CpuBackend(2, Numerics.EXACT), capture(tier, budget, cache))) {
            tier.broken = true;
            TierIOException ex = assertThrows(TierIOException.class, () -> m.forward(m.newState(4), new int[] {1}));
            assertEquals(truncated, ex.file());
            assertTrue(ex.offset() > 8192, ex.getMessage());
            assertTrue(ex.getMessage().contains(truncated.toString()) && ex.getMessage().contains(
                    String.valueOf(ex.offset())), ex.getMessage());
            cache.get().awaitReads();   // the layer's other reads, started together, fail too
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

    /** Routing counts of a profiling run over TOKENS (the input of the pinned hot set). */
    private static io.trillium.moe.ExpertStats profile(Path file) throws IOException {
        try (LanguageModel m = Models.load(file, new CpuBackend(1, Numerics.EXACT))) {
            m.forward(m.newState(TOKENS.length), TOKENS);
            return m.prefetcher().stats();
        }
    }

    /** A generated deepseek2 model (Q4_K experts, one dense layer, three MoE layers, shared expert). */
    private static Path synth(Path dir) throws IOException {
        Path file = dir.resolve("tiers-ds2.gguf");
        if (!Files.exists(file)) {
            var spec = io.trillium.synth.SynthSpec.builder("deepseek2").hidden(256).layers(4).heads(4)
                    .vocab(600).ctx(64).weightType(io.trillium.quant.GgmlType.Q4_K).seed(11)
                    .experts(16).used(4).expertFfn(256).ffn(512).leadingDense(1)
                    .kvLoraRank(128).qLoraRank(128).ropeDims(32).nopeDims(64).vDim(64).build();
            new io.trillium.synth.ModelSynthesizer(spec).write(file);
        }
        return file;
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"ds2-tiny-Q4_K_M", "qwen3moe-tiny-F32", "synth"})
    void everyTierConfigurationGivesTheSameLogits(String name) throws Exception {
        Path file = name.equals("synth") ? synth(Files.createDirectories(Path.of("target", "tier-test")))
                : model(name);
        float[][] want = reference(file);
        // experts computed on in place where the PMem tier maps them (no DAX here: the fallback mapping)
        try (LanguageModel m = Models.load(file, new CpuBackend(2, Numerics.EXACT), ExpertPlacement.inPlace(() -> new PmemTier(false)))) {
            assertLogits(want, run(m));
            assertTrue(m.bytesRead().getOrDefault("pmem", 0L) > 0, m.bytesRead().toString());
        }
        // NVMe behind a cache a fifth of the experts, each policy, with and without a pinned hot set
        io.trillium.moe.ExpertStats hot = profile(file);
        long small = expertBytes(file) / 5;
        for (ExpertCache.Policy policy : ExpertCache.Policy.values()) {
            for (double pinned : new double[] {0, 0.25}) {
                var options = new ExpertPlacement.CacheOptions(small, policy, pinned > 0 ? hot : null, pinned, 4, true);
                AtomicReference<ExpertCache> cache = new AtomicReference<>();
                ExpertPlacement p = (g, moe, n) -> {
                    ExpertCache c = options.open(ExpertLayout.gguf(g, moe, n), new NvmeTier());
                    cache.set(c);
                    return c;
                };
                try (LanguageModel m = Models.load(file, new CpuBackend(2, Numerics.EXACT), p)) {
                    assertLogits(want, run(m));
                    ExpertCache.Stats st = cache.get().stats();
                    assertTrue(st.dramUsed() <= small, st.toString());
                    assertEquals(pinned > 0, st.pinned() > 0, st.toString());
                    assertTrue(st.pinnedBytes() <= small * pinned, st.toString());
                    double acc = m.prefetcher().accuracy();
                    assertTrue(acc >= 0 && acc <= 1, "prediction accuracy " + acc);
                    assertTrue(st.prefetchesUsed() <= st.prefetches(), st.toString());
                }
            }
        }
    }

    @Test
    void bytesReadAddUpToTheRoutedExperts() throws Exception {
        Path file = synth(Files.createDirectories(Path.of("target", "tier-test")));
        long perExpert;
        int moeLayers;
        int used;
        long alwaysActive;
        try (GgufFile g = GgufFile.open(file)) {
            var cfg = io.trillium.model.ModelConfig.fromGguf(g.metadata());
            perExpert = 3 * g.tensorInfo("blk.1.ffn_up_exps.weight").byteSize() / cfg.experts();
            moeLayers = cfg.layers() - cfg.leadingDense();
            used = cfg.expertsUsed();
            alwaysActive = io.trillium.model.WeightBytes.of(g, cfg).alwaysActivePerToken(cfg);
        }
        try (LanguageModel m = Models.load(file, new CpuBackend(2, Numerics.EXACT), ExpertPlacement.cached(NvmeTier::new,
                expertBytes(file) / 3))) {
            var state = m.newState(16);
            for (int t : new int[] {3, 4, 5, 6, 7}) {   // token by token: each reads its own chosen experts
                m.forward(state, new int[] {t});
            }
            ((ExpertCache) m.expertSource()).awaitReads();
            var bytes = m.bytesRead();
            ExpertCache.Stats st = ((ExpertCache) m.expertSource()).stats();
            assertEquals(5, m.tokensForwarded());
            // every chosen expert is computed on from a DRAM slot; the NVMe count is what was read
            assertEquals(5 * alwaysActive + 5L * moeLayers * used * perExpert, bytes.get("dram"), bytes.toString());
            assertEquals(st.bytesRead(), bytes.get("nvme"));
            // every read is a miss (read once the router chose it) or a prediction's
            assertEquals((st.misses() + st.prefetches()) * perExpert, st.bytesRead(), st.toString());
            // each demand is a hit, a wait on a read in flight, or a miss
            assertEquals(5L * moeLayers * used, st.hits() + st.inFlight() + st.misses(), st.toString());
            io.trillium.moe.ExpertStats counts = m.prefetcher().stats();
            for (int l = 1; l < 4; l++) {
                assertEquals(5, counts.tokens(l));
                long sum = 0;
                for (int e = 0; e < counts.experts(); e++) {
                    sum += counts.count(l, e);
                }
                assertEquals(5L * used, sum);
            }
        }
    }

    private static void use(ExpertCache c, int layer, int expert) {
        c.expert(layer, expert);
        c.release(layer, expert);
    }

    @Test
    void heldSlotsAreNeverReusedAndDramStaysWithinBudget() throws Exception {
        Path file = model("qwen3moe-tiny-F32");
        try (GgufFile g = GgufFile.open(file)) {
            int experts = Math.toIntExact(g.tensorInfo("blk.0.ffn_gate_exps.weight").dim(2));
            boolean[] moe = {true, true};
            ExpertLayout layout = ExpertLayout.gguf(g, moe, experts);
            long one = layout.expertBytes(0);
            DramTier dram = new DramTier(3 * one);
            try (ExpertCache c = new ExpertCache(layout, new NvmeTier(), dram, ExpertCache.Policy.LRU, 2)) {
                ExpertWeights held = c.expert(0, 5);   // held through many misses of a 3-slot cache
                for (int i = 0; i < 40; i++) {
                    use(c, i % 2, (i * 7) % experts);
                    assertTrue(dram.held() <= 3 * one, "resident slot memory within the budget");
                }
                MemorySegment want = g.tensor("blk.0.ffn_gate_exps.weight").expert(5).data();
                assertEquals(-1, want.mismatch(held.gate().data()), "a held slot is never reused");
                c.release(0, 5);
                assertThrows(IllegalStateException.class, () -> c.release(0, 5), "released twice");
                assertThrows(IllegalArgumentException.class, () -> c.requireSlots(4));
                c.requireSlots(3);
            }
        }
    }

    @Test
    void pinnedExpertsStayAndLfuKeepsTheHotSetThroughScans() throws Exception {
        Path file = model("qwen3moe-tiny-F32");
        try (GgufFile g = GgufFile.open(file)) {
            int layers = g.metadata().getInt("qwen3moe.block_count");
            int experts = Math.toIntExact(g.tensorInfo("blk.0.ffn_gate_exps.weight").dim(2));
            boolean[] moe = new boolean[layers];
            java.util.Arrays.fill(moe, true);
            ExpertLayout layout = ExpertLayout.gguf(g, moe, experts);
            long one = layout.expertBytes(0);
            // 4 hot experts in layer 0 chosen 10 times each, then a scan over every expert of layer 1, twice
            io.trillium.moe.ExpertStats stats = new io.trillium.moe.ExpertStats(layers, experts);
            for (int i = 0; i < 10; i++) {
                stats.record(0, new int[] {0, 1, 2, 3}, 4);
            }
            long budget = 8 * one;
            long[] hits = new long[2];
            for (ExpertCache.Policy policy : ExpertCache.Policy.values()) {
                try (ExpertCache c = new ExpertCache(layout, new NvmeTier(), new DramTier(budget), policy, 2)) {
                    for (int round = 0; round < 6; round++) {
                        for (int e = 0; e < 4; e++) {   // hot, several times
                            use(c, 0, e);
                            use(c, 0, e);
                        }
                        for (int e = 0; e < experts; e++) {   // a scan that floods an LRU
                            use(c, 1, e);
                        }
                    }
                    hits[policy.ordinal()] = c.stats().hits();
                    assertTrue(c.stats().dramUsed() <= budget);
                }
            }
            assertTrue(experts > 8, "the scan must be larger than the cache");
            assertTrue(hits[ExpertCache.Policy.LFU.ordinal()] > hits[ExpertCache.Policy.LRU.ordinal()],
                    "LFU keeps the hot experts through scans: " + java.util.Arrays.toString(hits));

            try (ExpertCache c = new ExpertCache(layout, new NvmeTier(), new DramTier(budget),
                    ExpertCache.Policy.LRU, 2)) {
                assertEquals(4, c.pin(stats, 4 * one));
                assertEquals(4, c.stats().pinned());
                for (int round = 0; round < 2; round++) {   // scans cannot evict pinned experts
                    for (int e = 0; e < experts; e++) {
                        use(c, 1, e);
                    }
                }
                long before = c.stats().hits();
                for (int e = 0; e < 4; e++) {
                    MemorySegment want = g.tensor("blk.0.ffn_down_exps.weight").expert(e).data();
                    assertEquals(-1, want.mismatch(c.expert(0, e).down().data()));
                    c.release(0, e);
                }
                assertEquals(before + 4, c.stats().hits());
                assertTrue(c.stats().dramUsed() <= budget);
                assertThrows(IllegalStateException.class, () -> c.pin(stats, one));
                assertThrows(IllegalArgumentException.class,
                        () -> c.pin(new io.trillium.moe.ExpertStats(layers + 1, experts), one));
            }
        }
    }

    @Test
    void expertStatsRoundTripAndRejectBadFiles() throws IOException {
        Path dir = Files.createDirectories(Path.of("target", "tier-test"));
        io.trillium.moe.ExpertStats s = new io.trillium.moe.ExpertStats(3, 5);
        s.record(1, new int[] {4, 2, 0}, 2);
        s.record(1, new int[] {4, 3}, 2);
        Path f = dir.resolve("stats-roundtrip.json");
        Files.deleteIfExists(f);
        s.save(f, false);
        assertThrows(java.nio.file.FileAlreadyExistsException.class, () -> s.save(f, false));
        var back = io.trillium.moe.ExpertStats.load(f);
        assertEquals(2, back.count(1, 4));
        assertEquals(1, back.count(1, 2));
        assertEquals(0, back.count(1, 0));
        assertEquals(2, back.tokens(1));
        assertArrayEquals(new int[] {4, 2, 3, 0, 1}, back.byPopularity(1));
        for (String bad : new String[] {"{", "[]", "{\"format\":\"trillium-expert-stats\",\"version\":2}",
                "{\"format\":\"trillium-expert-stats\",\"version\":1,\"layers\":1,\"experts\":2,"
                        + "\"tokens\":[1],\"counts\":[[1]]}",
                "{\"format\":\"trillium-expert-stats\",\"version\":1,\"layers\":1,\"experts\":2,"
                        + "\"tokens\":[1],\"counts\":[[1,-3]]}"}) {
            Path b = dir.resolve("stats-bad.json");
            Files.writeString(b, bad);
            IOException e = assertThrows(IOException.class, () -> io.trillium.moe.ExpertStats.load(b), bad);
            assertTrue(e.getMessage().contains(b.toString()), e.getMessage());
        }
    }
}
