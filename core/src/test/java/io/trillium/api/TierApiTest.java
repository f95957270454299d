package io.trillium.api;

import io.trillium.fixtures.Fixtures;
import io.trillium.gguf.GgufFile;
import io.trillium.model.ModelConfig;
import io.trillium.model.WeightBytes;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/** Expert tiers through the public API: the same tokens, and per-tier bytes in the metrics. */
class TierApiTest {
    private static final Path MODEL = Fixtures.models().resolve("ds2-tiny-Q4_K_M.gguf");

    private static GenerationResult greedy(LoadOptions options) {
        try (Model m = Trillium.load(MODEL, options); Session s = m.newSession(64)) {
            return s.generate(GenerationRequest.builder().prompt("Once upon a time").maxTokens(8)
                    .sampler(Samplers.greedy()).build(), t -> { });
        }
    }

    @Test
    void everyTierGivesTheSameTokensAndCountsItsBytes() throws IOException {
        WeightBytes wb;
        ModelConfig cfg;
        try (GgufFile g = GgufFile.open(MODEL)) {
            cfg = ModelConfig.fromGguf(g.metadata());
            wb = WeightBytes.of(g, cfg);
        }
        GenerationResult dram = greedy(LoadOptions.builder().threads(2).build());
        GenerationResult pmem = greedy(LoadOptions.builder().threads(2).expertTier(LoadOptions.ExpertTier.PMEM).build());
        GenerationResult nvme = greedy(LoadOptions.builder().threads(2).expertTier(LoadOptions.ExpertTier.NVME)
                .dramBudget(wb.routedExperts() / 3).build());
        GenerationResult auto = greedy(LoadOptions.builder().threads(2).expertTier(LoadOptions.ExpertTier.NVME)
                .dramBudget(LoadOptions.AUTO_BUDGET).build());
        assertArrayEquals(dram.ids(), auto.ids());
        assertArrayEquals(dram.ids(), pmem.ids());
        assertArrayEquals(dram.ids(), nvme.ids());

        // every token forwarded reads the always-active part; its chosen experts come from the tier that has
        // them, a decoded token's each time, the prompt's once per distinct expert (one prefill batch)
        Metrics md = dram.metrics();
        long forwarded = md.promptTokens() + md.generatedTokens() - 1;   // the last token is sampled, not fed
        long decoded = md.generatedTokens() - 1;
        long routedPerToken = wb.routedExperts() / cfg.experts() * cfg.expertsUsed();
        Metrics mp = pmem.metrics();
        long experts = mp.bytesReadPerTier().get("pmem");
        assertEquals(forwarded * wb.alwaysActivePerToken(cfg), mp.bytesReadPerTier().get("dram"), mp.toString());
        assertTrue(experts >= (decoded + 1) * routedPerToken && experts < forwarded * routedPerToken, mp.toString());
        assertEquals(forwarded * wb.alwaysActivePerToken(cfg) + experts, md.bytesReadPerTier().get("dram"),
                md.toString());
        Metrics mn = nvme.metrics();
        assertEquals(forwarded * wb.alwaysActivePerToken(cfg) + experts, mn.bytesReadPerTier().get("dram"),
                mn.toString());
        assertTrue(mn.bytesReadPerTier().get("nvme") > 0, mn.toString());
    }

    @Test
    void automaticBudgetIsWhatTheLimitLeaves() {
        long limit = io.trillium.tier.MemoryLimits.processLimit();
        assertTrue(limit > 0);
        long heap = Runtime.getRuntime().maxMemory();
        assertEquals(limit - heap - (1L << 30) - (1L << 20),
                io.trillium.tier.MemoryLimits.autoBudget(1L << 30, 1L << 20));
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> io.trillium.tier.MemoryLimits.autoBudget(limit, 0));
        assertTrue(e.getMessage().contains("always-active"), e.getMessage());
    }

    @Test
    void gpuOptionsFallBackOrFailWithTheReason() {
        // core alone has no GPU backend installed: auto runs on the CPU, a device number is an error
        var cpu = Trillium.backend(LoadOptions.builder().threads(1).gpu(LoadOptions.GPU_AUTO).build());
        assertInstanceOf(io.trillium.backend.CpuBackend.class, cpu);
        cpu.close();
        ResourceException e = assertThrows(ResourceException.class,
                () -> Trillium.backend(LoadOptions.builder().threads(1).gpu(0).build()));
        assertTrue(e.getMessage().contains("GPU 0 cannot be used") && e.getMessage().contains("trillium-cuda"),
                e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> LoadOptions.builder().gpu(-5).build());
        assertThrows(IllegalArgumentException.class, () -> LoadOptions.builder().vramBudget(-1).build());
    }

    @Test
    void tierOptionsAreChecked() {
        assertThrows(IllegalArgumentException.class,
                () -> LoadOptions.builder().expertTier(LoadOptions.ExpertTier.NVME).build(), "NVMe needs a budget");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Trillium.load(MODEL, LoadOptions.builder().dramBudget(1000).build()));
        assertTrue(e.getMessage().contains("more than the budget"), e.getMessage());
        ResourceException r = assertThrows(ResourceException.class, () -> Trillium.load(MODEL, LoadOptions.builder()
                .expertTier(LoadOptions.ExpertTier.NVME).dramBudget(1 << 30).hotExperts(Path.of("/no/such.json")).build()));
        assertTrue(r.getMessage().contains("/no/such.json"), r.getMessage());
        try (Model m = Trillium.load(MODEL, LoadOptions.builder().threads(1).build())) {
            TierReport t = m.tierReport();
            assertTrue(t.cache().isEmpty());
            assertTrue(Double.isNaN(t.predictionAccuracy()), "no prediction without a slow tier");
            assertNotNull(t.expertStats(), "routing is counted on every tier");
        }
    }

    /** NVMe reads that fail while {@code broken}. */
    private static final class BreakableTier implements io.trillium.tier.Tier {
        final io.trillium.tier.NvmeTier nvme = new io.trillium.tier.NvmeTier();
        volatile boolean broken;

        @Override
        public String name() {
            return "nvme";
        }

        @Override
        public java.lang.foreign.MemorySegment read(Path file, long offset, long length, java.lang.foreign.Arena arena) {
            if (broken) {
                throw new io.trillium.tier.TierIOException(file, offset, "injected failure", null);
            }
            return nvme.read(file, offset, length, arena);
        }

        @Override
        public void close() {
            nvme.close();
        }
    }

    @Test
    void aFailedReadEndsOneGenerationAndTheModelServesOn() throws IOException {
        int[] want = greedy(LoadOptions.builder().threads(2).build()).ids();
        WeightBytes wb;
        ModelInfo info;
        try (GgufFile g = GgufFile.open(MODEL)) {
            ModelConfig cfg = ModelConfig.fromGguf(g.metadata());
            wb = WeightBytes.of(g, cfg);
            info = ModelInfo.of(g, cfg);
        }
        BreakableTier tier = new BreakableTier();
        var lm = io.trillium.model.Models.load(MODEL, new io.trillium.backend.CpuBackend(2),
                io.trillium.tier.ExpertPlacement.cached(() -> tier, wb.routedExperts() / 4));
        LoadOptions options = LoadOptions.builder().threads(2).build();
        try (Model m = new Model(lm, info, null, options)) {
            GenerationRequest req = GenerationRequest.builder().prompt("Once upon a time").maxTokens(8)
                    .sampler(Samplers.greedy()).build();
            Session broken = m.newSession(64);
            tier.broken = true;
            ResourceException e = assertThrows(ResourceException.class, () -> broken.generate(req, t -> { }));
            assertTrue(e.getMessage().contains(MODEL.toString()) && e.getMessage().contains("offset"), e.getMessage());
            broken.close();   // closes cleanly after the failure
            tier.broken = false;
            try (Session s = m.newSession(64)) {
                assertArrayEquals(want, s.generate(req, t -> { }).ids(), "the model serves on, same tokens");
            }
        }
    }
}
