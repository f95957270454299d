package io.trillium.model;

import io.trillium.quant.Numerics;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.trillium.backend.CpuBackend;
import io.trillium.fixtures.Fixtures;
import io.trillium.gguf.GgufFile;
import io.trillium.gguf.GgufFormatException;
import io.trillium.gguf.GgufTensorInfo;
import io.trillium.gguf.GgufValue;
import io.trillium.gguf.GgufWriter;
import io.trillium.quant.GgmlType;
import io.trillium.quant.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.stream.IntStream;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

/**
 * ds2-tiny (deepseek2, absorbed MLA, YaRN, sigmoid MoE with selection bias, shared expert) against
 * llama.cpp's goldens (F32) and the float reference (Q8_0, Q4_K_M); cache, context and loader checks.
 */
class DeepseekGoldenTest {
    private static final String F32 = "ds2-tiny-F32";
    private static final Map<String, LanguageModel> MODELS = new HashMap<>();
    private static final ObjectMapper JSON = new ObjectMapper();

    static synchronized LanguageModel model(String name) {
        return MODELS.computeIfAbsent(name, n -> {
            try {
                return Models.load(Fixtures.models().resolve(n + ".gguf"), Numerics.EXACT);
            } catch (IOException e) {
                throw new AssertionError(e);
            }
        });
    }

    @AfterAll
    static void closeModels() {
        MODELS.values().forEach(LanguageModel::close);
        MODELS.clear();
    }

    static Stream<Arguments> cases() {
        return Stream.of(F32, "ds2-tiny-Q8_0", "ds2-tiny-Q4_K_M")
                .flatMap(m -> IntStream.range(0, 3).mapToObj(i -> Arguments.of(m, i)));
    }

    static JsonNode golden(String model) throws IOException {
        return JSON.readTree(Fixtures.models().resolve(model + ".golden.json").toFile());
    }

    static float[] readF32(String file) throws IOException {
        return Fixtures.readF32(Fixtures.models().resolve(file));
    }

    static int[] ints(JsonNode a) {
        int[] r = new int[a.size()];
        for (int i = 0; i < r.length; i++) {
            r[i] = a.get(i).asInt();
        }
        return r;
    }

    /** Argmax, ties to the lowest id. */
    static int argmax(float[] v) {
        int best = 0;
        for (int i = 1; i < v.length; i++) {
            if (v[i] > v[best]) {
                best = i;
            }
        }
        return best;
    }

    @ParameterizedTest(name = "{0} p{1}")
    @MethodSource("cases")
    void matchesGolden(String name, int caseIndex) throws IOException {
        JsonNode c = golden(name).get("cases").get(caseIndex);
        LanguageModel m = model(name);
        int[] prompt = ints(c.get("prompt_tokens"));
        assertArrayEquals(prompt, m.tokenizer().encode(c.get("prompt").asText(), true, false), "prompt tokens");

        LanguageModel.State s = m.newState(64);
        float[] last = m.forward(s, prompt).clone();
        int[] greedy = new int[16];
        float[] logits = last;
        for (int k = 0; k < greedy.length; k++) {
            greedy[k] = argmax(logits);
            if (k + 1 < greedy.length) {
                logits = m.forward(s, new int[] {greedy[k]});
            }
        }
        double vsLlama = Fixtures.relL2(last, readF32(c.get("last_logits_file").asText()));
        boolean quantized = c.has("numpy_float_reference");
        if (!quantized) {
            System.out.printf("%s %s: rel-L2 vs llama.cpp %.3e, greedy %s%n", name, c.get("id").asText(), vsLlama,
                    Arrays.equals(greedy, ints(c.get("greedy_tokens"))) ? "equal" : "DIFFERENT");
            assertTrue(vsLlama <= 1e-4, "rel-L2 vs llama.cpp " + vsLlama);
            assertArrayEquals(ints(c.get("greedy_tokens")), greedy, "greedy tokens");
        } else {
            JsonNode ref = c.get("numpy_float_reference");
            double vsRef = Fixtures.relL2(last, readF32(ref.get("last_logits_file").asText()));
            System.out.printf("%s %s: rel-L2 vs float reference %.3e, greedy vs reference %s "
                            + "(for information: rel-L2 vs llama.cpp %.3e, greedy vs llama.cpp %s)%n",
                    name, c.get("id").asText(), vsRef,
                    Arrays.equals(greedy, ints(ref.get("greedy_tokens"))) ? "equal" : "DIFFERENT", vsLlama,
                    Arrays.equals(greedy, ints(c.get("greedy_tokens"))) ? "equal" : "different");
            assertTrue(vsRef <= 1e-3, "rel-L2 vs float reference " + vsRef);
            assertArrayEquals(ints(ref.get("greedy_tokens")), greedy, "greedy tokens vs float reference");
        }
    }

    @Test
    void incrementalDecodeEqualsRecompute() throws IOException {
        LanguageModel m = model(F32);
        JsonNode c = golden(F32).get("cases").get(0);
        int[] seq = IntStream.concat(Arrays.stream(ints(c.get("prompt_tokens"))),
                Arrays.stream(ints(c.get("greedy_tokens")))).toArray();
        LanguageModel.State inc = m.newState(seq.length);
        LanguageModel.State fresh = m.newState(seq.length);
        double worst = 0;
        float[] a = null;
        for (int n = 1; n <= seq.length; n++) {
            a = m.forward(inc, new int[] {seq[n - 1]}).clone();
            fresh.reset();
            float[] b = m.forward(fresh, Arrays.copyOf(seq, n));
            worst = Math.max(worst, Fixtures.relL2(a, b));
            assertEquals(n, inc.position());
        }
        System.out.printf("incremental vs recompute, %d positions: worst rel-L2 %.3e%n", seq.length, worst);
        assertTrue(worst <= 1e-5, "incremental decode differs from recompute: " + worst);
        // a brand-new state fed the whole sequence in one call agrees with the incremental one
        float[] whole = m.forward(m.newState(seq.length), seq);
        assertTrue(Fixtures.relL2(a, whole) <= 1e-5, "new state vs incremental");
    }

    @Test
    void parallelHeadsMatchOneThread() throws IOException {
        // past ~57 cached tokens the tiny model's attention runs its heads on the worker pool
        int[] seq = IntStream.range(0, 100).map(i -> 1000 + 37 * i).toArray();
        float[] one;
        try (LanguageModel m = Models.load(Fixtures.models().resolve(F32 + ".gguf"), new CpuBackend(1, Numerics.EXACT))) {
            one = m.forward(m.newState(seq.length), seq).clone();
        }
        try (LanguageModel m = Models.load(Fixtures.models().resolve(F32 + ".gguf"), new CpuBackend(3, Numerics.EXACT))) {
            double rel = Fixtures.relL2(m.forward(m.newState(seq.length), seq), one);
            System.out.printf("3 threads vs 1 thread, 100 tokens: rel-L2 %.3e%n", rel);
            assertTrue(rel <= 1e-6, "rel-L2 " + rel);
        }
    }

    @Test
    void contextOverflowIsRefused() {
        LanguageModel m = model(F32);
        LanguageModel.State s = m.newState(4);
        m.forward(s, new int[] {1, 2, 3});
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> m.forward(s, new int[] {4, 5}));
        assertEquals("5 tokens exceed the context of 4", e.getMessage());
        assertEquals(3, s.position(), "a refused batch leaves the state alone");
        m.forward(s, new int[] {4});
        assertEquals(4, s.position());
        assertThrows(IllegalArgumentException.class, () -> m.forward(s, new int[] {1}));
        assertThrows(IllegalArgumentException.class, () -> m.forward(m.newState(4), new int[] {m.config().vocab()}));
    }

    /** Copies ds2-tiny-F32 to {@code out} without {@code drop}, re-declaring tensors in {@code reshape}. */
    static Path rewrite(Path out, Set<String> drop, Map<String, long[]> reshape) throws IOException {
        try (GgufFile src = GgufFile.open(Fixtures.models().resolve(F32 + ".gguf"))) {
            GgufWriter w = new GgufWriter().putAll(src.metadata());
            for (GgufTensorInfo t : src.tensors()) {
                if (!drop.contains(t.name())) {
                    w.tensor(t.name(), t.type(), reshape.getOrDefault(t.name(), t.shape()));
                }
            }
            return w.write(out, GgufWriter.TensorData.copyFrom(src));
        }
    }

    @Test
    void missingOrMisshapedTensorIsNamed(@TempDir Path dir) throws IOException {
        Path missing = rewrite(dir.resolve("missing.gguf"), Set.of("blk.1.attn_kv_a_norm.weight"), Map.of());
        GgufFormatException e = assertThrows(GgufFormatException.class, () -> Models.load(missing));
        assertTrue(e.getMessage().contains("blk.1.attn_kv_a_norm.weight") && e.getMessage().contains("[256]"),
                e.getMessage());

        // same bytes, wrong dims: [64, 256, 4] declared as [64, 128, 8]
        Path bad = rewrite(dir.resolve("bad.gguf"), Set.of(), Map.of("blk.2.attn_k_b.weight", new long[] {64, 128, 8}));
        e = assertThrows(GgufFormatException.class, () -> Models.load(bad));
        assertTrue(e.getMessage().contains("blk.2.attn_k_b.weight") && e.getMessage().contains("[64, 256, 4]"),
                e.getMessage());
        System.out.println("loader errors: " + e.getMessage());
    }

    /**
     * Writes the legacy layout: per layer one attn_kv_b [kv_lora, heads·(nope + v)] whose per-head rows
     * are [k_nope | v] (MODEL-FACTS 3.4), k_nope rows being attn_k_b[h] transposed; with {@code keepSplit}
     * attn_k_b/attn_v_b stay too (and must win), and attn_kv_b is written as zeros to prove it.
     */
    static Path legacy(Path out, boolean keepSplit) throws IOException {
        try (GgufFile src = GgufFile.open(Fixtures.models().resolve(F32 + ".gguf"))) {
            ModelConfig cfg = ModelConfig.fromGguf(src.metadata());
            int heads = cfg.heads();
            int nope = cfg.nopeDim();
            int v = cfg.vHeadDim();
            int lora = cfg.kvLoraRank();
            GgufWriter w = new GgufWriter().putAll(src.metadata());
            if (!keepSplit) {
                // the old keys: no *_mla, per-head key/value widths, head_count_kv = heads
                w.remove("deepseek2.attention.key_length_mla").remove("deepseek2.attention.value_length_mla");
                w.put("deepseek2.attention.key_length", GgufValue.u32(nope + cfg.ropeDims()));
                w.put("deepseek2.attention.value_length", GgufValue.u32(v));
                w.put("deepseek2.attention.head_count_kv", GgufValue.u32(heads));
            }
            for (GgufTensorInfo t : src.tensors()) {
                boolean split = t.name().endsWith("attn_k_b.weight") || t.name().endsWith("attn_v_b.weight");
                if (!split || keepSplit) {
                    w.tensor(t.name(), t.type(), t.shape());
                }
                if (t.name().endsWith("attn_v_b.weight")) {
                    w.tensor(t.name().replace("attn_v_b", "attn_kv_b"), GgmlType.F32, lora, (long) heads * (nope + v));
                }
            }
            GgufWriter.TensorData copy = GgufWriter.TensorData.copyFrom(src);
            ValueLayout.OfFloat f = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
            return w.write(out, (t, dst) -> {
                if (!t.name().endsWith("attn_kv_b.weight")) {
                    copy.write(t, dst);
                    return;
                }
                if (keepSplit) {
                    return;   // zeros
                }
                MemorySegment kb = src.tensor(t.name().replace("attn_kv_b", "attn_k_b")).data();
                MemorySegment vb = src.tensor(t.name().replace("attn_kv_b", "attn_v_b")).data();
                for (int h = 0; h < heads; h++) {
                    for (int i = 0; i < nope; i++) {        // k_nope row i of head h: column i of attn_k_b[h]
                        long row = (long) h * (nope + v) + i;
                        for (int c = 0; c < lora; c++) {
                            dst.setAtIndex(f, row * lora + c, kb.getAtIndex(f, ((long) h * lora + c) * nope + i));
                        }
                    }
                    for (int j = 0; j < v; j++) {           // v row j of head h: row j of attn_v_b[h]
                        long row = (long) h * (nope + v) + nope + j;
                        MemorySegment.copy(vb, ((long) h * v + j) * lora * 4, dst, row * lora * 4, lora * 4L);
                    }
                }
            });
        }
    }

    @Test
    void flattenedKbVbMatchSplitTensors(@TempDir Path dir) throws IOException {
        // ik_llama.cpp writes attn_k_b / attn_v_b as 2-D, heads flattened into dim 1: same bytes
        Map<String, long[]> flat = new HashMap<>();
        for (int l = 0; l < 3; l++) {
            flat.put("blk." + l + ".attn_k_b.weight", new long[] {64, 256 * 4});
            flat.put("blk." + l + ".attn_v_b.weight", new long[] {256, 64 * 4});
        }
        Path file = rewrite(dir.resolve("flat.gguf"), Set.of(), flat);
        int[] prompt = ints(golden(F32).get("cases").get(2).get("prompt_tokens"));
        LanguageModel split = model(F32);
        float[] b = split.forward(split.newState(prompt.length), prompt).clone();
        try (LanguageModel m = Models.load(file, Numerics.EXACT)) {
            double rel = Fixtures.relL2(m.forward(m.newState(prompt.length), prompt), b);
            System.out.printf("2-D attn_k_b/attn_v_b p3: rel-L2 vs 3-D %.3e%n", rel);
            assertTrue(rel <= 1e-6, "rel-L2 " + rel);
            m.close();   // closing twice is harmless
        }
    }

    /**
     * ds2-tiny-F32 with RMSNorm eps 0 and attn_norm = 1, so that the normed h has mean square 1 and
     * {@code rms(I·h, 1) = h}: with attn_q_a = I and attn_q_a_norm = 1 the low-rank query is
     * attn_q_b·h. The {@code lite} file has instead no q_lora_rank and attn_q = attn_q_b.
     */
    static Path liteVariant(Path out, boolean lite) throws IOException {
        try (GgufFile src = GgufFile.open(Fixtures.models().resolve(F32 + ".gguf"))) {
            GgufWriter w = new GgufWriter().putAll(src.metadata());
            w.put("deepseek2.attention.layer_norm_rms_epsilon", GgufValue.f32(0f));
            if (lite) {
                w.remove("deepseek2.attention.q_lora_rank");
            }
            for (GgufTensorInfo t : src.tensors()) {
                String n = t.name();
                if (lite && (n.endsWith(".attn_q_a.weight") || n.endsWith(".attn_q_a_norm.weight"))) {
                    continue;
                }
                w.tensor(lite ? n.replace(".attn_q_b.", ".attn_q.") : n, t.type(), t.shape());
            }
            GgufWriter.TensorData copy = GgufWriter.TensorData.copyFrom(src);
            ValueLayout.OfFloat f = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
            return w.write(out, (t, dst) -> {
                String n = t.name();
                long count = t.byteSize() / 4;
                if (n.endsWith(".attn_norm.weight") || n.endsWith(".attn_q_a_norm.weight")) {
                    for (long i = 0; i < count; i++) {
                        dst.setAtIndex(f, i, 1f);
                    }
                } else if (n.endsWith(".attn_q_a.weight")) {
                    long d = t.dim(0);
                    for (long i = 0; i < d; i++) {
                        dst.setAtIndex(f, i * d + i, 1f);
                    }
                } else if (n.endsWith(".attn_q.weight")) {
                    dst.copyFrom(src.tensor(n.replace(".attn_q.", ".attn_q_b.")).data());
                } else {
                    copy.write(t, dst);
                }
            });
        }
    }

    @Test
    void plainAttnQWhenQLoraRankIsZero(@TempDir Path dir) throws IOException {
        int[] prompt = ints(golden(F32).get("cases").get(2).get("prompt_tokens"));
        float[] full;
        try (LanguageModel m = Models.load(liteVariant(dir.resolve("full.gguf"), false), Numerics.EXACT)) {
            assertEquals(256, m.config().qLoraRank());
            full = m.forward(m.newState(prompt.length), prompt).clone();
        }
        try (LanguageModel m = Models.load(liteVariant(dir.resolve("lite.gguf"), true), Numerics.EXACT)) {
            assertEquals(0, m.config().qLoraRank());
            double rel = Fixtures.relL2(m.forward(m.newState(prompt.length), prompt), full);
            System.out.printf("attn_q (q_lora_rank 0) p3: rel-L2 vs attn_q_a = I %.3e%n", rel);
            assertTrue(rel <= 1e-5, "rel-L2 " + rel);
        }
    }

    @Test
    void legacyKvBMatchesSplitTensors(@TempDir Path dir) throws IOException {
        LanguageModel split = model(F32);
        for (boolean keepSplit : new boolean[] {false, true}) {
            Path file = legacy(dir.resolve(keepSplit ? "both.gguf" : "legacy.gguf"), keepSplit);
            try (LanguageModel m = Models.load(file, Numerics.EXACT)) {
                assertEquals(keepSplit ? 1 : 4, m.config().kvHeads());
                for (int i = 0; i < 3; i++) {
                    int[] prompt = ints(golden(F32).get("cases").get(i).get("prompt_tokens"));
                    float[] a = m.forward(m.newState(prompt.length), prompt).clone();
                    float[] b = split.forward(split.newState(prompt.length), prompt);
                    double rel = Fixtures.relL2(a, b);
                    System.out.printf("%s p%d: rel-L2 vs split attn_k_b/attn_v_b %.3e%n",
                            keepSplit ? "attn_kv_b + split (split used)" : "legacy attn_kv_b", i + 1, rel);
                    assertTrue(rel <= 1e-4, "rel-L2 " + rel);
                }
            }
        }
    }
}
