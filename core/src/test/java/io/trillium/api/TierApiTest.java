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

        // every token forwarded reads the always-active part, and its chosen experts from the tier that has them
        Metrics md = dram.metrics();
        long forwarded = md.promptTokens() + md.generatedTokens() - 1;   // the last token is sampled, not fed
        long routedPerToken = wb.routedExperts() / cfg.experts() * cfg.expertsUsed();
        assertEquals(forwarded * wb.activePerToken(), md.bytesReadPerTier().get("dram"), md.toString());
        Metrics mp = pmem.metrics();
        assertEquals(forwarded * routedPerToken, mp.bytesReadPerTier().get("pmem"), mp.toString());
        assertEquals(forwarded * wb.alwaysActivePerToken(cfg), mp.bytesReadPerTier().get("dram"), mp.toString());
        Metrics mn = nvme.metrics();
        assertEquals(forwarded * wb.activePerToken(), mn.bytesReadPerTier().get("dram"), mn.toString());
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
}
