package io.trillium.synth;

import io.trillium.backend.CpuBackend;
import io.trillium.gguf.GgufFile;
import io.trillium.gguf.GgufTensorInfo;
import io.trillium.model.LanguageModel;
import io.trillium.model.Models;
import io.trillium.moe.ExpertSource;
import io.trillium.moe.ExpertStats;
import io.trillium.moe.GgufExperts;
import io.trillium.quant.GgmlType;
import io.trillium.quant.Numerics;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.*;

/** {@code --hot-experts N --hot-share P}: the decoded model's router really sends about P of its choices to N experts. */
class HotExpertsTest {

    @TempDir
    Path tmp;

    private static final int TOKENS = 300;

    private Path synth(SynthSpec spec, String name) throws IOException {
        return new ModelSynthesizer(spec).threads(2).write(tmp.resolve(name)).path();
    }

    /** Every expert lookup of {@code TOKENS} single-token decode steps over random tokens, counted per (layer, expert). */
    private static ExpertStats decode(Path file, SynthSpec spec) throws IOException {
        ExpertStats stats = new ExpertStats(spec.layers(), spec.experts());
        try (LanguageModel m = Models.load(file, new CpuBackend(2, Numerics.EXACT), (g, moe, n) -> {
            ExpertSource inner = new GgufExperts(g, moe, n);
            return (layer, e) -> {
                stats.record(layer, new int[] {e}, 1);
                return inner.expert(layer, e);
            };
        })) {
            LanguageModel.State s = m.newState(TOKENS);
            SplittableRandom r = new SplittableRandom(11);
            for (int i = 0; i < TOKENS; i++) {
                m.forward(s, new int[] {r.nextInt(spec.vocab())});
            }
        }
        return stats;
    }

    /** Share of {@code layer}'s choices that went to {@code ids}. */
    private static double share(ExpertStats st, int layer, int[] ids) {
        long all = 0;
        long hot = 0;
        for (int e = 0; e < st.experts(); e++) {
            all += st.count(layer, e);
        }
        for (int id : ids) {
            hot += st.count(layer, id);
        }
        assertTrue(all >= TOKENS, "layer " + layer + " routed");
        return (double) hot / all;
    }

    @ParameterizedTest(name = "{0} gating {1}: {2} hot get {3}")
    @CsvSource({"ds2-tiny, 2, 4, 0.6", "ds2-tiny, 2, 2, 0.35", "ds2-tiny, 1, 4, 0.4", "qwen3moe-tiny, 0, 4, 0.4"})
    void hotSetGetsTheRequestedShare(String preset, int gating, int n, float p) throws IOException {
        // hidden 256: router rows of similar norms, so that without the skew the choices are near-uniform
        SynthSpec.Builder b = SynthSpec.presetBuilder(preset).hidden(256).vocab(1000).seed(3);
        if (gating > 0) {
            b.gatingFunc(gating);
        }
        SynthSpec plain = b.build();
        SynthSpec skewed = plain.toBuilder().hotExperts(n, p).build();
        ExpertStats hot = decode(synth(skewed, "hot.gguf"), skewed);
        ExpertStats uniform = decode(synth(plain, "plain.gguf"), plain);
        double even = (double) n / plain.experts();
        int moeLayers = 0;
        int[] previous = null;
        for (int l = 0; l < plain.layers(); l++) {
            if (plain.arch().equals("deepseek2") && l < plain.leadingDense()) {
                continue;
            }
            moeLayers++;
            int[] ids = HotExperts.draw(skewed, l);
            assertEquals(n, ids.length);
            assertFalse(Arrays.equals(previous, ids), "each layer has its own hot set");
            previous = ids;
            double got = share(hot, l, ids);
            double before = share(uniform, l, ids);
            System.out.printf("%s gating %d layer %d: hot %s share %.3f (asked %.2f), without skew %.3f (uniform %.3f)%n",
                    preset, gating, l, Arrays.toString(ids), got, p, before, even);
            assertEquals(p, got, 0.1, "layer " + l + " hot share");
            assertEquals(even, before, 0.1, "layer " + l + " without skew: near-uniform");
            for (int e = 0; e < plain.experts(); e++) {
                double f = (double) uniform.count(l, e) * plain.experts() / (TOKENS * plain.used());
                assertTrue(f < 2.5, "layer " + l + " expert " + e + " without skew: " + f + "x its uniform share");
            }
        }
        assertTrue(moeLayers >= 2);
    }

    /** The skew changes the routing tensors only (bias for sigmoid, router rows for softmax), and only the hot entries. */
    @Test
    void onlyTheRoutingTensorsChange() throws IOException {
        SynthSpec plain = SynthSpec.presetBuilder("ds2-tiny").vocab(1000).seed(3).build();
        SynthSpec soft = plain.toBuilder().gatingFunc(1).build();
        for (SynthSpec s : new SynthSpec[] {plain, soft}) {
            SynthSpec skewed = s.toBuilder().hotExperts(3, 0.3f).build();
            try (GgufFile a = GgufFile.open(synth(s, "a" + s.gatingFunc() + ".gguf"));
                 GgufFile b = GgufFile.open(synth(skewed, "b" + s.gatingFunc() + ".gguf"))) {
                for (GgufTensorInfo t : a.tensors()) {
                    MemorySegment x = a.tensor(t.name()).data();
                    MemorySegment y = b.tensor(t.name()).data();
                    String routing = s.gatingFunc() == 2 ? "exp_probs_b.bias" : "ffn_gate_inp.weight";
                    if (!t.name().endsWith(routing)) {
                        assertEquals(-1, x.mismatch(y), t.name());
                        continue;
                    }
                    int layer = Integer.parseInt(t.name().split("\\.")[1]);
                    int[] hot = HotExperts.draw(skewed, layer);
                    long per = t.rank() == 1 ? 4 : t.dim(0) * 4;   // bias: one value per expert; router: one row
                    for (int e = 0; e < s.experts(); e++) {
                        boolean same = x.asSlice(e * per, per).mismatch(y.asSlice(e * per, per)) == -1;
                        assertEquals(Arrays.binarySearch(hot, e) < 0, same, t.name() + " expert " + e);
                    }
                }
            }
        }
    }

    /** Files written before hot experts existed (these hashes) come out byte for byte the same. */
    @Test
    void defaultFilesAreUnchanged() throws IOException, NoSuchAlgorithmException {
        assertEquals("522b44ab44236e9e33b07e5ff4ea5a0560a26120a33fdcb844a1d525190c623e", sha256(synth(
                SynthSpec.presetBuilder("ds2-tiny").vocab(1000).weightType(GgmlType.Q4_K).seed(42).build(), "d.gguf")));
        assertEquals("0b603dbdc451555797f8621e2f9ded78b6615744bc54e390fa6f61c8b6a7bec9", sha256(synth(
                SynthSpec.presetBuilder("qwen3moe-tiny").vocab(1000).seed(7).build(), "q.gguf")));
    }

    private static String sha256(Path p) throws IOException, NoSuchAlgorithmException {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(p)));
    }

    @Test
    void impossibleSkewsAreRefused() {
        SynthSpec.Builder b = SynthSpec.presetBuilder("ds2-tiny");   // 16 experts, 4 used
        for (var bad : new Runnable[] {
                () -> b.hotExperts(0, 0.5f).build(),
                () -> b.hotExperts(16, 1f).build(),
                () -> b.hotExperts(4, 0.2f).build(),     // below the uniform 0.25
                () -> b.hotExperts(2, 0.6f).build(),     // two of four choices at most
                () -> SynthSpec.presetBuilder("llama-tiny").hotExperts(1, 0.5f).build()}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, bad::run);
            assertTrue(e.getMessage().contains("hot"), e.getMessage());
        }
        // softmax router rows reach about half the choices for 4 of 4 used; more is refused when writing
        SynthSpec soft = SynthSpec.presetBuilder("ds2-tiny").vocab(1000).gatingFunc(1).hotExperts(4, 0.9f).build();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> synth(soft, "x.gguf"));
        assertTrue(e.getMessage().contains("at most") && e.getMessage().contains("sigmoid"), e.getMessage());
        assertFalse(Files.exists(tmp.resolve("x.gguf")));
    }
}
