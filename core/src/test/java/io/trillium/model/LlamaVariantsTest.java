package io.trillium.model;

import io.trillium.backend.CpuBackend;
import io.trillium.fixtures.Fixtures;
import io.trillium.gguf.GgufFile;
import io.trillium.gguf.GgufFormatException;
import io.trillium.gguf.GgufMetadata;
import io.trillium.gguf.GgufTensorInfo;
import io.trillium.gguf.GgufValue;
import io.trillium.gguf.GgufWriter;
import io.trillium.quant.GgmlType;
import io.trillium.quant.Numerics;
import io.trillium.quant.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The architectures without a llama.cpp golden of their own (qwen2, qwen3, qwen2moe, mixtral-style
 * llama) checked by exact rewrites of llama-tiny whose logits must not change: NEOX rope on q/k rows
 * permuted from adjacent pairs to halves, biases that cancel, identical experts whose weights sum to 1.
 */
class LlamaVariantsTest {
    static final Path LLAMA = Fixtures.models().resolve("llama-tiny-F32.gguf");
    static final int HIDDEN = 48;
    static final int FFN = 192;
    static final int HEAD = 16;

    @TempDir
    Path tmp;

    /** A model being rewritten: metadata plus F32 tensors by name. */
    record Draft(Map<String, GgufValue> md, Map<String, long[]> shapes, Map<String, float[]> data) {
        static Draft of(Path file) throws IOException {
            Draft d = new Draft(new LinkedHashMap<>(), new LinkedHashMap<>(), new LinkedHashMap<>());
            try (GgufFile g = GgufFile.open(file)) {
                d.md.putAll(g.metadata().asMap());
                for (GgufTensorInfo t : g.tensors()) {
                    Tensor v = g.tensor(t.name());
                    float[] f = new float[Math.toIntExact(v.elementCount())];
                    v.dequantizeRows(0, v.rowCount(), f, 0);
                    d.put(t.name(), f, v.shape());
                }
            }
            return d;
        }

        void put(String name, float[] values, long... shape) {
            shapes.put(name, shape);
            data.put(name, values);
        }

        float[] get(String name) {
            return data.get(name);
        }

        void remove(String name) {
            shapes.remove(name);
            data.remove(name);
        }

        /** Renames the {@code <arch>.*} keys to the new architecture. */
        void arch(String arch) {
            String old = (String) md.get("general.architecture").value();
            Map<String, GgufValue> out = new LinkedHashMap<>();
            md.forEach((k, v) -> out.put(k.startsWith(old + ".") ? arch + k.substring(old.length()) : k, v));
            out.put("general.architecture", GgufValue.string(arch));
            md.clear();
            md.putAll(out);
        }

        Path write(Path path) throws IOException {
            GgufWriter w = new GgufWriter();
            md.forEach(w::put);
            shapes.forEach((n, s) -> w.tensor(n, GgmlType.F32, s));
            return w.write(path, (t, dst) -> {
                float[] f = data.get(t.name());
                MemorySegment.copy(f, 0, dst, ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0, f.length);
            });
        }
    }

    /** Per head, rows (2i, 2i+1) → (i, i + d/2): what adjacent-pair rope does, NEOX rope does on these rows. */
    static float[] pairsToHalves(float[] w, int rows) {
        float[] out = new float[w.length];
        for (int r = 0; r < rows; r++) {
            int head = r / HEAD;
            int i = r % HEAD;
            int src = head * HEAD + (i < HEAD / 2 ? 2 * i : 2 * (i - HEAD / 2) + 1);
            System.arraycopy(w, src * HIDDEN, out, r * HIDDEN, HIDDEN);
        }
        return out;
    }

    static float[] random(int n, long seed, double sigma) {
        Random r = new Random(seed);
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) (r.nextGaussian() * sigma);
        }
        return x;
    }

    /** {@code -(wo · b)} for wo of shape [in, out] (rows of {@code in} values). */
    static float[] minusMatVec(float[] wo, float[] b, int in, int out) {
        float[] y = new float[out];
        for (int r = 0; r < out; r++) {
            double s = 0;
            for (int i = 0; i < in; i++) {
                s += (double) wo[r * in + i] * b[i];
            }
            y[r] = (float) -s;
        }
        return y;
    }

    /** n copies of one matrix stacked as experts (the last dim), each scaled by {@code scale}. */
    static float[] stack(float[] m, int n, float scale) {
        float[] out = new float[m.length * n];
        for (int e = 0; e < n; e++) {
            for (int i = 0; i < m.length; i++) {
                out[e * m.length + i] = m[i] * scale;
            }
        }
        return out;
    }

    /** Logits of all three prompts against llama-tiny's llama.cpp goldens. */
    static void assertGolden(Path model, String what) throws IOException {
        try (LanguageModel m = Models.load(model, new CpuBackend(2, Numerics.EXACT))) {
            for (String p : new String[] {"p1", "p2", "p3"}) {
                var c = LlamaGoldenTest.goldenCase("llama-tiny-F32", p);
                float[] got = m.forward(m.newState(64), LlamaGoldenTest.ints(c.get("prompt_tokens")));
                double rel = Fixtures.relL2(got, Fixtures.readF32(Fixtures.models().resolve(c.get("last_logits_file").asText())));
                System.out.printf("%s %s: rel-L2 %.3e vs llama-tiny%n", what, p, rel);
                assertTrue(rel <= 1e-4, what + " " + p + ": rel-L2 " + rel);
            }
        }
    }

    /** Rewrites q/k for NEOX rope, adds the biases, and makes {@code arch} the architecture. */
    static Draft neox(String arch) throws IOException {
        Draft d = Draft.of(LLAMA);
        d.arch(arch);
        for (int l = 0; l < 2; l++) {
            String p = "blk." + l + ".";
            d.put(p + "attn_q.weight", pairsToHalves(d.get(p + "attn_q.weight"), 48), HIDDEN, 48);
            d.put(p + "attn_k.weight", pairsToHalves(d.get(p + "attn_k.weight"), 16), HIDDEN, 16);
        }
        return d;
    }

    /** attn_v.bias b and attn_output.bias -(wo · b) cancel: softmax weights sum to 1 (a head's output gains b). */
    static void cancellingBiases(Draft d, boolean qk) {
        for (int l = 0; l < 2; l++) {
            String p = "blk." + l + ".";
            float[] bv = random(16, 10 + l, 0.5);
            float[] bvHeads = new float[48];   // GQA 3:1: every query head reads KV head 0
            for (int h = 0; h < 3; h++) {
                System.arraycopy(bv, 0, bvHeads, h * 16, 16);
            }
            d.put(p + "attn_v.bias", bv, 16);
            d.put(p + "attn_output.bias", minusMatVec(d.get(p + "attn_output.weight"), bvHeads, 48, HIDDEN), HIDDEN);
            if (qk) {
                d.put(p + "attn_q.bias", new float[48], 48);
                d.put(p + "attn_k.bias", new float[16], 16);
            }
        }
    }

    @Test
    void llamaWithBiases() throws IOException {
        Draft d = Draft.of(LLAMA);
        cancellingBiases(d, false);
        assertGolden(d.write(tmp.resolve("llama-bias.gguf")), "llama + biases");
        // the biases are applied: attn_v.bias alone changes the logits
        d.remove("blk.0.attn_output.bias");
        d.remove("blk.1.attn_output.bias");
        assertDiffers(d.write(tmp.resolve("llama-bv.gguf")));
    }

    /** The p1 logits are far from llama-tiny's (the rewrite is not a no-op). */
    static void assertDiffers(Path model) throws IOException {
        try (LanguageModel m = Models.load(model, new CpuBackend(2, Numerics.EXACT))) {
            float[] got = m.forward(m.newState(16), new int[] {1, 450, 4996, 17354, 1701, 29916});
            double rel = Fixtures.relL2(got, Fixtures.readF32(Fixtures.models().resolve("llama-tiny-F32.p1.last_logits.f32")));
            assertTrue(rel > 1e-2, "rel-L2 " + rel);
        }
    }

    @Test
    void qwen2IsNeoxWithBiases() throws IOException {
        Draft d = neox("qwen2");
        cancellingBiases(d, true);
        assertGolden(d.write(tmp.resolve("qwen2.gguf")), "qwen2");
        // NEOX rope on the unpermuted rows is a different model
        Draft plain = Draft.of(LLAMA);
        plain.arch("qwen2");
        assertDiffers(plain.write(tmp.resolve("qwen2-norm-rows.gguf")));
    }

    @Test
    void mixtralStyleLlamaWithIdenticalExperts() throws IOException {
        Draft d = Draft.of(LLAMA);
        d.md().put("llama.expert_count", GgufValue.u32(4));
        d.md().put("llama.expert_used_count", GgufValue.u32(2));
        moe(d, 4, 1f);
        assertGolden(d.write(tmp.resolve("mixtral.gguf")), "llama MoE");
    }

    @Test
    void qwen2moeHalfRoutedHalfShared() throws IOException {
        // all 4 experts used, not renormalised: their probabilities sum to 1; each is half the FFN,
        // the shared expert is the whole FFN gated by sigmoid(0) = 1/2.
        Draft d = neox("qwen2moe");
        cancellingBiases(d, true);
        d.md().put("qwen2moe.expert_count", GgufValue.u32(4));
        d.md().put("qwen2moe.expert_used_count", GgufValue.u32(4));
        d.md().put("qwen2moe.expert_feed_forward_length", GgufValue.u32(FFN));
        for (int l = 0; l < 2; l++) {
            String p = "blk." + l + ".";
            d.put(p + "ffn_gate_shexp.weight", d.get(p + "ffn_gate.weight"), HIDDEN, FFN);
            d.put(p + "ffn_up_shexp.weight", d.get(p + "ffn_up.weight"), HIDDEN, FFN);
            d.put(p + "ffn_down_shexp.weight", d.get(p + "ffn_down.weight"), FFN, HIDDEN);
            d.put(p + "ffn_gate_inp_shexp.weight", new float[HIDDEN], HIDDEN);
        }
        moe(d, 4, 0.5f);
        assertGolden(d.write(tmp.resolve("qwen2moe.gguf")), "qwen2moe");
    }

    @Test
    void qwen3DenseEqualsQwen3moeWithIdenticalExperts() throws IOException {
        Draft dense = neox("qwen3");
        for (int l = 0; l < 2; l++) {
            dense.put("blk." + l + ".attn_q_norm.weight", random(16, 20 + l, 0.3), 16);
            dense.put("blk." + l + ".attn_k_norm.weight", random(16, 30 + l, 0.3), 16);
        }
        Path densePath = dense.write(tmp.resolve("qwen3.gguf"));
        dense.arch("qwen3moe");
        dense.md().put("qwen3moe.expert_count", GgufValue.u32(3));
        dense.md().put("qwen3moe.expert_used_count", GgufValue.u32(2));
        dense.md().put("qwen3moe.expert_feed_forward_length", GgufValue.u32(FFN));
        moe(dense, 3, 1f);
        Path moePath = dense.write(tmp.resolve("qwen3moe.gguf"));
        int[] ids = {1, 450, 4996, 17354, 1701, 29916, 3, 99, 7};
        try (LanguageModel a = Models.load(densePath, new CpuBackend(2, Numerics.EXACT));
             LanguageModel b = Models.load(moePath, new CpuBackend(2, Numerics.EXACT))) {
            float[] la = a.forward(a.newState(16), ids).clone();
            float[] lb = b.forward(b.newState(16), ids);
            double rel = Fixtures.relL2(lb, la);
            assertTrue(rel <= 1e-5, "rel-L2 " + rel);
            // and the q/k norms matter: without them the logits differ
            float[] plain = Fixtures.readF32(Fixtures.models().resolve("llama-tiny-F32.p1.last_logits.f32"));
            float[] p1 = a.forward(a.newState(16), new int[] {1, 450, 4996, 17354, 1701, 29916});
            assertTrue(Fixtures.relL2(p1, plain) > 1e-2, "q/k norm applied");
        }
    }

    /** Replaces each dense FFN by {@code n} copies as experts (down scaled by {@code downScale}) and a random router. */
    static void moe(Draft d, int n, float downScale) {
        for (int l = 0; l < 2; l++) {
            String p = "blk." + l + ".";
            d.put(p + "ffn_gate_inp.weight", random(HIDDEN * n, 40 + l, 1.0), HIDDEN, n);
            d.put(p + "ffn_gate_exps.weight", stack(d.get(p + "ffn_gate.weight"), n, 1f), HIDDEN, FFN, n);
            d.put(p + "ffn_up_exps.weight", stack(d.get(p + "ffn_up.weight"), n, 1f), HIDDEN, FFN, n);
            d.put(p + "ffn_down_exps.weight", stack(d.get(p + "ffn_down.weight"), n, downScale), FFN, HIDDEN, n);
            d.remove(p + "ffn_gate.weight");
            d.remove(p + "ffn_up.weight");
            d.remove(p + "ffn_down.weight");
        }
    }

    @Test
    void withoutOutputWeightTheEmbeddingIsTied() throws IOException {
        Draft d = Draft.of(LLAMA);
        d.put("output.weight", d.get("token_embd.weight").clone(), HIDDEN, 32000);
        Path untied = d.write(tmp.resolve("untied.gguf"));
        d.remove("output.weight");
        Path tied = d.write(tmp.resolve("tied.gguf"));
        int[] ids = {1, 450, 4996, 17354};
        try (LanguageModel a = Models.load(untied, new CpuBackend(2, Numerics.EXACT));
             LanguageModel b = Models.load(tied, new CpuBackend(2, Numerics.EXACT))) {
            assertArrayEquals(a.forward(a.newState(8), ids).clone(), b.forward(b.newState(8), ids));
        }
    }

    @Test
    void missingOrMisShapedTensorsAreNamed() throws IOException {
        Draft d = Draft.of(LLAMA);
        d.remove("blk.1.attn_k.weight");
        Path missing = d.write(tmp.resolve("missing.gguf"));
        // the same exception as deepseek2's loader: a malformed file, named (the API reports ModelFormatException)
        GgufFormatException e = assertThrows(GgufFormatException.class, () -> Models.load(missing));
        assertTrue(e.getMessage().startsWith(missing.toString()), e.getMessage());
        assertTrue(e.getMessage().contains("'blk.1.attn_k.weight'") && e.getMessage().contains("[48, 16]"), e.getMessage());

        d = Draft.of(LLAMA);
        d.put("blk.0.ffn_up.weight", new float[HIDDEN * 96], HIDDEN, 96);
        Path shaped = d.write(tmp.resolve("shaped.gguf"));
        e = assertThrows(GgufFormatException.class, () -> Models.load(shaped));
        assertTrue(e.getMessage().contains("'blk.0.ffn_up.weight' has dims [48, 96], expected [48, 192]"), e.getMessage());
    }
}
