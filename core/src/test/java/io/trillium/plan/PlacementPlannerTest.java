package io.trillium.plan;

import io.trillium.fixtures.Fixtures;
import io.trillium.gguf.GgufFile;
import io.trillium.gguf.GgufTensorInfo;
import io.trillium.model.ModelConfig;
import io.trillium.model.WeightBytes;
import io.trillium.moe.ExpertStats;
import io.trillium.quant.GgmlType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * A hand-sized inventory, all F32: hidden 8, vocab 100, 3 layers (layer 0 dense), 4 experts of which
 * 2 are used, expert FFN 4.
 * <pre>
 *   token_embd [8,100]  3200 B, a token reads one row: 32 B
 *   output     [8,100]  3200 B
 *   blk.0: attn [8,8] 256 B, ffn [8,16] 512 B
 *   blk.1, blk.2: attn [8,8] 256 B; gate/up [8,4,4], down [4,8,4]: 512 B each = 384 B per expert
 * </pre>
 * Always active but token_embd: 3200 + 256 + 512 + 256 + 256 = 4480 B; experts 2 · 4 · 384 = 3072 B;
 * all 10752 B.
 */
class PlacementPlannerTest {
    static final long AA = 4480, EXPERT = 384, EMBD = 3200, ROW = 32, ALL = 10752;

    static ModelConfig config() {
        return new ModelConfig("deepseek2", 100, 8, 3, 1, 1, 8, 8, 16, 4096, 1e-6f,
                8, 10000f, false, "none", 1f, 4096, 32f, 1f, 0f,
                4, 2, 4, 0, 1, true, true, 1f, 1, 1, 0, 8, 8, 8);
    }

    static List<GgufTensorInfo> inventory() {
        List<GgufTensorInfo> t = new ArrayList<>();
        long[] at = {0};
        add(t, at, "token_embd.weight", 8, 100);
        add(t, at, "output.weight", 8, 100);
        add(t, at, "blk.0.attn.weight", 8, 8);
        add(t, at, "blk.0.ffn.weight", 8, 16);
        for (int l = 1; l <= 2; l++) {
            add(t, at, "blk." + l + ".attn.weight", 8, 8);
            add(t, at, "blk." + l + ".ffn_gate_exps.weight", 8, 4, 4);
            add(t, at, "blk." + l + ".ffn_up_exps.weight", 8, 4, 4);
            add(t, at, "blk." + l + ".ffn_down_exps.weight", 4, 8, 4);
        }
        return t;
    }

    private static void add(List<GgufTensorInfo> t, long[] at, String name, long... shape) {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        t.add(new GgufTensorInfo(name, GgmlType.F32, shape, 0, at[0], 4 * n, at[0]));
        at[0] += 4 * n;
    }

    @Test
    void inventoryIsWhatTheCommentSays() {
        WeightBytes wb = WeightBytes.of(inventory(), config());
        assertEquals(ALL, wb.total());
        assertEquals(8 * EXPERT, wb.routedExperts());
        assertEquals(AA + ROW + 2 * 2 * EXPERT, wb.activePerToken());
    }

    @Test
    void uniformAlwaysActiveFirstThenExpertsInOrderThenTheEmbedding() {
        // fast holds the always-active part and two experts after a 100-byte reserve; given slow first
        List<TierSpec> tiers = List.of(new TierSpec("slow", 10_000, 100), new TierSpec("fast", AA + 2 * EXPERT + 100, 1000));
        Placement p = PlacementPlanner.plan(inventory(), config(), tiers, null, 100);

        assertEquals(List.of("fast", "slow"), p.tiers().stream().map(u -> u.tier().name()).toList());
        for (String t : List.of("output.weight", "blk.0.attn.weight", "blk.0.ffn.weight", "blk.1.attn.weight", "blk.2.attn.weight")) {
            assertEquals("fast", p.tierOf(t), t);
        }
        assertEquals("slow", p.tierOf("token_embd.weight"), "one row per token: worth less than any expert");
        assertEquals("fast", p.tierOf(1, 0));
        assertEquals("fast", p.tierOf(1, 1));
        for (int e = 2; e < 4; e++) {
            assertEquals("slow", p.tierOf(1, e));
        }
        for (int e = 0; e < 4; e++) {
            assertEquals("slow", p.tierOf(2, e));
        }
        assertThrows(IllegalArgumentException.class, () -> p.tierOf(0, 0), "layer 0 is dense");

        Placement.Use fast = p.tiers().get(0), slow = p.tiers().get(1);
        assertEquals(100, fast.reserved());
        assertEquals(AA, fast.alwaysActiveBytes());
        assertEquals(2 * EXPERT, fast.expertBytes());
        assertEquals(2, fast.expertCount());
        assertEquals(EMBD, slow.alwaysActiveBytes());
        assertEquals(6 * EXPERT, slow.expertBytes());
        // P(chosen) = 2/4 for every expert
        assertEquals(AA, fast.alwaysActiveRead());
        assertEquals(2 * 0.5 * EXPERT, fast.expertRead());
        assertEquals(ROW, slow.alwaysActiveRead());
        assertEquals(6 * 0.5 * EXPERT, slow.expertRead());
        assertEquals(4864 + 1184, p.readPerToken(), 1e-9);
        assertEquals(4864 / 1000.0 + 1184 / 100.0, p.secondsPerToken(), 1e-12);
        assertEquals(1184 / 100.0, p.overlappedSecondsPerToken(), 1e-12);
        assertEquals("slow", p.bottleneck().tier().name());
        assertFalse(p.fromStats());
    }

    @Test
    void statsPutTheMostChosenExpertsOfAllLayersOnTheFastTier() {
        ExpertStats s = new ExpertStats(3, 4);
        // layer 1 counts e0 1, e1 3, e2 9, e3 7; layer 2 counts e0 8, e1 2, e2 5, e3 5 (10 tokens, 2 experts each)
        repeat(s, 1, 7, 2, 3);
        repeat(s, 1, 2, 2, 1);
        repeat(s, 1, 1, 0, 1);
        repeat(s, 2, 5, 0, 2);
        repeat(s, 2, 3, 0, 3);
        repeat(s, 2, 2, 1, 3);
        List<TierSpec> tiers = List.of(new TierSpec("fast", AA + 3 * EXPERT, 1000), new TierSpec("slow", 10_000, 100));
        Placement p = PlacementPlanner.plan(inventory(), config(), tiers, s, 0);

        // popularity over both layers: L1e2 .9, L2e0 .8, L1e3 .7 | L2e2 .5, L2e3 .5, L1e1 .3, L2e1 .2, L1e0 .1
        assertEquals("fast", p.tierOf(1, 2));
        assertEquals("fast", p.tierOf(2, 0));
        assertEquals("fast", p.tierOf(1, 3));
        for (int[] le : new int[][]{{1, 0}, {1, 1}, {2, 1}, {2, 2}, {2, 3}}) {
            assertEquals("slow", p.tierOf(le[0], le[1]), le[0] + "/" + le[1]);
        }
        assertEquals((0.9 + 0.8 + 0.7) * EXPERT, p.tiers().get(0).expertRead(), 1e-9);
        assertEquals((0.5 + 0.5 + 0.3 + 0.2 + 0.1) * EXPERT, p.tiers().get(1).expertRead(), 1e-9);
        assertEquals(AA + ROW + 2 * 2 * EXPERT, p.readPerToken(), 1e-9, "a token still reads 2 experts per layer");
        assertTrue(p.fromStats());
        assertEquals(List.of(), p.notes());
    }

    private static void repeat(ExpertStats s, int layer, int times, int a, int b) {
        for (int i = 0; i < times; i++) {
            s.record(layer, new int[]{a, b}, 2);
        }
    }

    @Test
    void statsWithoutTokensForALayerFallBackToUniformWithANote() {
        ExpertStats s = new ExpertStats(3, 4);
        repeat(s, 1, 4, 0, 1);
        Placement p = PlacementPlanner.plan(inventory(), config(), List.of(new TierSpec("dram", ALL, 10)), s, 0);
        assertEquals(List.of("layer 2: no routed tokens in the stats, uniform popularity assumed"), p.notes());
        assertEquals(AA + ROW + 2 * 2 * EXPERT, p.readPerToken(), 1e-9);
    }

    @Test
    void doesNotFitSaysByHowMuch() {
        var e = assertThrows(IllegalArgumentException.class, () -> PlacementPlanner.plan(inventory(), config(),
                List.of(new TierSpec("vram", 5000, 100), new TierSpec("dram", 5000, 10)), null, 100));
        assertEquals("the model needs 10.50 KiB (10752 bytes) but the tiers hold 9.67 KiB (vram 4.88 KiB + dram 4.88 KiB"
                + " - reserve 100 B): short by 852 B; give a larger tier or add --pmem / --nvme", e.getMessage());
    }

    @Test
    void aTensorLargerThanAnyTiersRoomIsNamed() {
        // fits in total (10800 >= 10752) but token_embd (3200 B) comes last and no tier has 3200 B left
        var e = assertThrows(IllegalArgumentException.class, () -> PlacementPlanner.plan(inventory(), config(),
                List.of(new TierSpec("fast", 3000, 100), new TierSpec("slow", 7800, 10)), null, 0));
        assertEquals("tensor token_embd.weight (3.13 KiB) fits in no tier: room left fast 184 B, slow 2.99 KiB",
                e.getMessage());
    }

    @Test
    void badStatsAndReserveAreRejected() {
        var shape = assertThrows(IllegalArgumentException.class, () -> PlacementPlanner.plan(inventory(), config(),
                List.of(new TierSpec("dram", ALL, 10)), new ExpertStats(3, 8), 0));
        assertEquals("expert stats are for 3 layers x 8 experts, the model has 3 layers x 4 experts", shape.getMessage());
        var reserve = assertThrows(IllegalArgumentException.class, () -> PlacementPlanner.plan(inventory(), config(),
                List.of(new TierSpec("vram", 1000, 100), new TierSpec("dram", ALL, 10)), null, 2000));
        assertTrue(reserve.getMessage().startsWith("reserve 1.95 KiB does not fit the fastest tier vram"), reserve.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new TierSpec("nvme", 10, 0));
        assertThrows(IllegalArgumentException.class, () -> PlacementPlanner.plan(inventory(), config(),
                List.of(new TierSpec("dram", ALL, 10), new TierSpec("dram", ALL, 10)), null, 0));
    }

    /** On one tier a token reads exactly what WeightBytes counts, for real fixture inventories. */
    @ParameterizedTest
    @ValueSource(strings = {"qwen3moe-tiny-F32.gguf", "ds2-tiny-F32.gguf", "llama-tiny-F32.gguf"})
    void oneTierReadsWhatWeightBytesCounts(String fixture) throws IOException {
        try (GgufFile g = GgufFile.open(Fixtures.models().resolve(fixture))) {
            ModelConfig cfg = ModelConfig.fromGguf(g.metadata());
            WeightBytes wb = WeightBytes.of(g, cfg);
            Placement p = PlacementPlanner.plan(g.tensors(), cfg, List.of(new TierSpec("dram", wb.total(), 1e9)), null, 0);
            assertEquals(wb.total(), p.tiers().getFirst().placedBytes());
            assertEquals(wb.routedExperts(), p.tiers().getFirst().expertBytes());
            assertEquals(wb.activePerToken(), p.readPerToken(), 1e-6 * wb.activePerToken());
            assertEquals(wb.activePerToken() / 1e9, p.secondsPerToken(), 1e-15 * wb.activePerToken());
        }
    }
}
