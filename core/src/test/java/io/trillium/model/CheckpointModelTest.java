package io.trillium.model;

import io.trillium.backend.CpuBackend;
import io.trillium.gguf.GgufFile;
import io.trillium.gguf.GgufTensorInfo;
import io.trillium.gguf.GgufWriter;
import io.trillium.quant.GgmlType;
import io.trillium.quant.Kernels;
import io.trillium.quant.Numerics;
import io.trillium.quant.Tensor;
import io.trillium.safetensors.SafetensorsWriter;
import io.trillium.synth.ModelSynthesizer;
import io.trillium.synth.SynthSpec;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A Kimi-K2.5-style checkpoint (safetensors with INT4-packed routed experts, BF16 everything else,
 * the unsplit kv_b_proj, the {@code language_model.} prefix, config.json with text_config, tiktoken files)
 * and a GGUF of the SAME weights (F32, the INT4 values dequantized, k_b/v_b split as llama.cpp's converter
 * splits them) must give the same logits and greedy tokens.
 */
class CheckpointModelTest {
    @TempDir
    Path dir;

    /** GGUF name (after "blk.N.") → Hugging Face name (after "model.layers.N."), written out independently of the loader. */
    static final Map<String, String> HF = Map.ofEntries(
            Map.entry("attn_norm.weight", "input_layernorm.weight"),
            Map.entry("ffn_norm.weight", "post_attention_layernorm.weight"),
            Map.entry("attn_q_a.weight", "self_attn.q_a_proj.weight"),
            Map.entry("attn_q_a_norm.weight", "self_attn.q_a_layernorm.weight"),
            Map.entry("attn_q_b.weight", "self_attn.q_b_proj.weight"),
            Map.entry("attn_kv_a_mqa.weight", "self_attn.kv_a_proj_with_mqa.weight"),
            Map.entry("attn_kv_a_norm.weight", "self_attn.kv_a_layernorm.weight"),
            Map.entry("attn_output.weight", "self_attn.o_proj.weight"),
            Map.entry("attn_q.weight", "self_attn.q_proj.weight"),
            Map.entry("attn_k.weight", "self_attn.k_proj.weight"),
            Map.entry("attn_v.weight", "self_attn.v_proj.weight"),
            Map.entry("attn_q_norm.weight", "self_attn.q_norm.weight"),
            Map.entry("attn_k_norm.weight", "self_attn.k_norm.weight"),
            Map.entry("ffn_gate.weight", "mlp.gate_proj.weight"),
            Map.entry("ffn_up.weight", "mlp.up_proj.weight"),
            Map.entry("ffn_down.weight", "mlp.down_proj.weight"),
            Map.entry("ffn_gate_inp.weight", "mlp.gate.weight"),
            Map.entry("exp_probs_b.bias", "mlp.gate.e_score_correction_bias"),
            Map.entry("ffn_gate_shexp.weight", "mlp.shared_experts.gate_proj.weight"),
            Map.entry("ffn_up_shexp.weight", "mlp.shared_experts.up_proj.weight"),
            Map.entry("ffn_down_shexp.weight", "mlp.shared_experts.down_proj.weight"));
    static final String P = "language_model.";

    static float bf16(float f) {
        return Float.intBitsToFloat(Kernels.toBF16(f) << 16);
    }

    static long[] reversed(long[] d) {
        long[] r = new long[d.length];
        for (int i = 0; i < d.length; i++) {
            r[i] = d[d.length - 1 - i];
        }
        return r;
    }

    static float[] values(GgufFile g, String name) {
        Tensor t = g.tensor(name);
        float[] v = new float[Math.toIntExact(t.elementCount())];
        t.dequantizeRows(0, t.rowCount(), v, 0);
        return v;
    }

    /**
     * {@code w} ([out, in] row-major) as FP8 e4m3 with F32 scale_inv per 128×128 block (DeepSeek's
     * layout) under {@code hf}; returns the dequantized values (what the twin GGUF holds).
     */
    static float[] fp8(SafetensorsWriter st, String hf, float[] w, int out, int in) {
        int rb = (out + 127) / 128;
        int cb = (in + 127) / 128;
        float[] scales = new float[rb * cb];
        byte[] codes = new byte[w.length];
        float[] deq = new float[w.length];
        for (int bi = 0; bi < rb; bi++) {
            for (int bj = 0; bj < cb; bj++) {
                float max = 0;
                for (int i = bi * 128; i < Math.min(out, bi * 128 + 128); i++) {
                    for (int j = bj * 128; j < Math.min(in, bj * 128 + 128); j++) {
                        max = Math.max(max, Math.abs(w[i * in + j]));
                    }
                }
                float s = max > 0 ? max / 448 : 1;
                scales[bi * cb + bj] = s;
                for (int i = bi * 128; i < Math.min(out, bi * 128 + 128); i++) {
                    for (int j = bj * 128; j < Math.min(in, bj * 128 + 128); j++) {
                        codes[i * in + j] = Kernels.toFp8(w[i * in + j] / s);
                        deq[i * in + j] = Kernels.fromFp8(codes[i * in + j]) * s;
                    }
                }
            }
        }
        st.add(hf, "F8_E4M3", new long[] {out, in}, codes);
        st.f32(hf + "_scale_inv", new long[] {rb, cb}, scales);
        return deq;
    }

    /** The FP8 checkpoint's quantized Linears (DeepSeek-V3 / K2): every projection but the router and lm_head. */
    static boolean fp8Linear(String ggufName) {
        return java.util.List.of("attn_q_a.weight", "attn_q_b.weight", "attn_kv_a_mqa.weight", "attn_output.weight",
                "ffn_gate.weight", "ffn_up.weight", "ffn_down.weight", "ffn_gate_shexp.weight", "ffn_up_shexp.weight",
                "ffn_down_shexp.weight").contains(ggufName.substring(ggufName.indexOf('.', 4) + 1));
    }

    /**
     * The checkpoint and the twin GGUF, both from the synthesized model {@code src}: K2.5-style (INT4
     * experts, BF16 rest) or, with {@code fp8}, K2-style (FP8 experts and projections).
     */
    static void convert(GgufFile src, ModelConfig cfg, Path ckptDir, Path twin, boolean fp8) throws IOException {
        convert(src, cfg, ckptDir, twin, fp8, P);
    }

    /** As above, the text weights' names under {@code prefix} ("" but for K2.5). */
    static void convert(GgufFile src, ModelConfig cfg, Path ckptDir, Path twin, boolean fp8, String prefix)
            throws IOException {
        SafetensorsWriter st = new SafetensorsWriter();
        Map<String, float[]> twinValues = new HashMap<>();
        int heads = cfg.heads();
        int nope = cfg.nopeDim();
        int v = cfg.vHeadDim();
        int lora = cfg.kvLoraRank();
        for (GgufTensorInfo t : src.tensors()) {
            String name = t.name();
            float[] x = values(src, name);
            long[] dims = t.shape();
            if (name.endsWith("_exps.weight")) {
                int in = (int) dims[0];
                int out = (int) dims[1];
                int layer = Integer.parseInt(name.split("\\.")[1]);
                String which = name.substring(name.indexOf("ffn_") + 4, name.indexOf("_exps"));
                float[] deq = new float[x.length];
                for (int e = 0; fp8 && e < dims[2]; e++) {
                    String hf = prefix + "model.layers." + layer + ".mlp.experts." + e + "." + which + "_proj.weight";
                    float[] d = fp8(st, hf, java.util.Arrays.copyOfRange(x, e * in * out, (e + 1) * in * out), out, in);
                    System.arraycopy(d, 0, deq, e * in * out, d.length);
                }
                for (int e = 0; !fp8 && e < dims[2]; e++) {
                    int[] q = new int[in * out];
                    float[] scales = new float[out * in / 32];
                    for (int g = 0; g < out * in / 32; g++) {
                        int base = e * in * out + g * 32;
                        float max = 0;
                        for (int i = 0; i < 32; i++) {
                            max = Math.max(max, Math.abs(x[base + i]));
                        }
                        float s = bf16(max > 0 ? max / 7 : 1);
                        scales[g] = s;
                        for (int i = 0; i < 32; i++) {
                            int qi = Math.max(-8, Math.min(7, Math.round(x[base + i] / s)));
                            q[g * 32 + i] = qi;
                            deq[base + i] = qi * s;
                        }
                    }
                    int[] words = new int[q.length / 8];
                    try (Arena a = Arena.ofConfined()) {
                        MemorySegment seg = a.allocate(q.length / 2);
                        Kernels.packInt4(q, 0, seg, 0, q.length);
                        for (int w = 0; w < words.length; w++) {
                            words[w] = seg.getAtIndex(ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), w);
                        }
                    }
                    String hf = prefix + "model.layers." + layer + ".mlp.experts." + e + "." + which + "_proj.weight";
                    st.i32(hf + "_packed", new long[] {out, in / 8}, words);
                    st.bf16(hf + "_scale", new long[] {out, in / 32}, scales);
                    st.i32(hf + "_shape", new long[] {2}, new int[] {out, in});
                }
                twinValues.put(name, deq);
            } else if (name.endsWith("attn_k_b.weight")) {
                // with attn_v_b: one kv_b_proj [heads·(nope+v), lora]; row (h, i) = W_UK_h[i, :], row (h, nope+j) = W_UV_h[j, :]
                String layer = name.split("\\.")[1];
                float[] vb = values(src, "blk." + layer + ".attn_v_b.weight");
                float[] kv = new float[heads * (nope + v) * lora];
                float[] kRounded = new float[x.length];
                float[] vRounded = new float[vb.length];
                for (int h = 0; h < heads; h++) {
                    for (int c = 0; c < lora; c++) {
                        for (int i = 0; i < nope; i++) {
                            int at = h * lora * nope + c * nope + i;
                            kRounded[at] = bf16(x[at]);
                            kv[(h * (nope + v) + i) * lora + c] = kRounded[at];
                        }
                        for (int j = 0; j < v; j++) {
                            int at = h * v * lora + j * lora + c;
                            vRounded[at] = bf16(vb[at]);
                            kv[(h * (nope + v) + nope + j) * lora + c] = vRounded[at];
                        }
                    }
                }
                String kvName = prefix + "model.layers." + layer + ".self_attn.kv_b_proj.weight";
                if (fp8) {
                    float[] d = fp8(st, kvName, kv, heads * (nope + v), lora);
                    for (int h = 0; h < heads; h++) {   // the twin's k_b/v_b from the dequantized rows
                        for (int c = 0; c < lora; c++) {
                            for (int i = 0; i < nope; i++) {
                                kRounded[h * lora * nope + c * nope + i] = d[(h * (nope + v) + i) * lora + c];
                            }
                            for (int j = 0; j < v; j++) {
                                vRounded[h * v * lora + j * lora + c] = d[(h * (nope + v) + nope + j) * lora + c];
                            }
                        }
                    }
                } else {
                    st.bf16(kvName, new long[] {heads * (nope + v), lora}, kv);
                }
                twinValues.put(name, kRounded);
                twinValues.put("blk." + layer + ".attn_v_b.weight", vRounded);
            } else if (name.endsWith("attn_v_b.weight")) {
                continue;   // with attn_k_b
            } else {
                String hf = switch (name) {
                    case "token_embd.weight" -> "model.embed_tokens.weight";
                    case "output_norm.weight" -> "model.norm.weight";
                    case "output.weight" -> "lm_head.weight";
                    default -> {
                        String[] parts = name.split("\\.", 3);
                        yield "model.layers." + parts[1] + "." + HF.get(parts[2]);
                    }
                };
                hf = prefix + hf;
                if (fp8 && fp8Linear(name)) {
                    twinValues.put(name, fp8(st, hf, x, (int) dims[1], (int) dims[0]));
                } else if (name.endsWith("exp_probs_b.bias")) {
                    st.f32(hf, reversed(dims), x);   // F32 in the checkpoint too
                    twinValues.put(name, x);
                } else {
                    float[] r = new float[x.length];
                    for (int i = 0; i < x.length; i++) {
                        r[i] = bf16(x[i]);
                    }
                    st.bf16(hf, reversed(dims), r);
                    twinValues.put(name, r);
                }
            }
        }
        write(src, st, ckptDir, twinValues, twin);
    }

    /**
     * The checkpoint's {@code model.safetensors} and the twin: {@code src}'s metadata and tensors as F32
     * {@code values}, then any other {@code values} as 1-D tensors (e.g. {@code rope_freqs.weight}).
     */
    static void write(GgufFile src, SafetensorsWriter st, Path ckptDir, Map<String, float[]> values, Path twin)
            throws IOException {
        Files.createDirectories(ckptDir);
        st.write(ckptDir.resolve("model.safetensors"));
        GgufWriter w = new GgufWriter().putAll(src.metadata());
        for (GgufTensorInfo t : src.tensors()) {
            w.tensor(t.name(), GgmlType.F32, t.shape());
        }
        for (String extra : values.keySet().stream().filter(n -> !src.hasTensor(n)).sorted().toList()) {
            w.tensor(extra, GgmlType.F32, new long[] {values.get(extra).length});
        }
        w.write(twin, (t, dst) -> MemorySegment.copy(values.get(t.name()), 0, dst,
                ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0, values.get(t.name()).length));
    }

    static void writeConfig(ModelConfig c, Path ckptDir) throws IOException {
        String text = """
                {"model_type": "kimi_k2", "architectures": ["DeepseekV3ForCausalLM"],
                 "vocab_size": %d, "hidden_size": %d, "intermediate_size": %d, "moe_intermediate_size": %d,
                 "num_hidden_layers": %d, "num_attention_heads": %d, "num_key_value_heads": %d,
                 "n_routed_experts": %d, "num_experts_per_tok": %d, "n_shared_experts": %d,
                 "first_k_dense_replace": %d, "moe_layer_freq": 1, "n_group": %d, "topk_group": %d,
                 "q_lora_rank": %d, "kv_lora_rank": %d, "qk_nope_head_dim": %d, "qk_rope_head_dim": %d,
                 "v_head_dim": %d, "rope_theta": %s, "max_position_embeddings": %d, "rms_norm_eps": %s,
                 "rope_scaling": {"type": "yarn", "factor": %s, "original_max_position_embeddings": %d,
                   "beta_fast": %s, "beta_slow": %s, "mscale": 1.0, "mscale_all_dim": %s},
                 "scoring_func": "sigmoid", "topk_method": "noaux_tc", "norm_topk_prob": %s,
                 "routed_scaling_factor": %s, "tie_word_embeddings": false, "hidden_act": "silu"}
                """.formatted(c.vocab(), c.hidden(), c.ffn(), c.expertFfn(), c.layers(), c.heads(), c.heads(),
                c.experts(), c.expertsUsed(), c.sharedExperts(), c.leadingDense(), c.expertGroups(),
                c.expertGroupsUsed(), c.qLoraRank(), c.kvLoraRank(), c.nopeDim(), c.ropeDims(), c.vHeadDim(),
                c.ropeBase(), c.contextLength(), c.rmsEps(), c.ropeFactor(), c.ropeOrigCtx(), c.yarnBetaFast(),
                c.yarnBetaSlow(), c.yarnLogMultiplier() / 0.1f, c.normTopK(), c.routedScale());
        Files.writeString(ckptDir.resolve("config.json"), """
                {"model_type": "kimi_k25", "architectures": ["KimiK25ForConditionalGeneration"],
                 "media_placeholder_token_id": 163605, "text_config": %s}""".formatted(text));
        writeTokenizer(ckptDir);
    }

    static void writeQwenConfig(ModelConfig c, Path ckptDir) throws IOException {
        Files.writeString(ckptDir.resolve("config.json"), """
                {"model_type": "qwen3_moe", "architectures": ["Qwen3MoeForCausalLM"], "vocab_size": %d,
                 "hidden_size": %d, "intermediate_size": %d, "moe_intermediate_size": %d, "num_hidden_layers": %d,
                 "num_attention_heads": %d, "num_key_value_heads": %d, "head_dim": %d, "num_experts": %d,
                 "num_experts_per_tok": %d, "norm_topk_prob": true, "rope_theta": %s, "rms_norm_eps": %s,
                 "max_position_embeddings": %d, "rope_scaling": null, "tie_word_embeddings": false}
                """.formatted(c.vocab(), c.hidden(), c.ffn(), c.expertFfn(), c.layers(), c.heads(), c.kvHeads(),
                c.headDimK(), c.experts(), c.expertsUsed(), c.ropeBase(), c.rmsEps(), c.contextLength()));
        writeTokenizer(ckptDir);
    }

    /** tiktoken: the 256 single bytes, then 256 reserved specials (ids 256..511); a tiny chat template. */
    static void writeTokenizer(Path ckptDir) throws IOException {
        StringBuilder tk = new StringBuilder();
        for (int b = 0; b < 256; b++) {
            tk.append(Base64.getEncoder().encodeToString(new byte[] {(byte) b})).append(' ').append(b).append('\n');
        }
        Files.writeString(ckptDir.resolve("tiktoken.model"), tk);
        Files.writeString(ckptDir.resolve("tokenizer_config.json"), """
                {"added_tokens_decoder": {"256": {"content": "[BOS]", "special": true},
                 "257": {"content": "[EOS]", "special": true}}, "bos_token": "[BOS]", "eos_token": "[EOS]",
                 "chat_template": "{% for m in messages %}<{{ m.role }}>{{ m.content }}{% endfor %}"}""");
    }

    /** The public API opens the directory too, with the template of tokenizer_config.json. */
    @Test
    void trilliumLoadsACheckpointDirectory() throws IOException {
        Path ckpt = dir.resolve("ckpt");
        tinyModel(3, 4, 7, ckpt, dir.resolve("twin.gguf"));
        try (io.trillium.api.Model m = io.trillium.api.Trillium.load(ckpt,
                io.trillium.api.LoadOptions.builder().threads(1).build())) {
            assertEquals("deepseek2", m.info().architecture());
            assertEquals("<user>hi", m.chatTemplate().orElseThrow()
                    .render(java.util.List.of(Map.of("role", "user", "content", "hi")), null, false, Map.of()));
        }
    }

    static double relL2(float[] a, float[] b) {
        double num = 0;
        double den = 0;
        for (int i = 0; i < a.length; i++) {
            num += (double) (a[i] - b[i]) * (a[i] - b[i]);
            den += (double) b[i] * b[i];
        }
        return Math.sqrt(num / den);
    }

    /** A synthesized tiny deepseek2 (MLA, one dense layer, then MoE) written as checkpoint {@code ckpt} and GGUF {@code twin}. */
    ModelConfig tinyModel(int layers, int experts, long seed, Path ckpt, Path twin) throws IOException {
        return tinyModel(layers, experts, seed, 16, false, ckpt, twin);
    }

    /** With per-head widths {@code nopeV} (128 keeps FP8's 128-row blocks per head, as in K2) and FP8 weights if {@code fp8}. */
    ModelConfig tinyModel(int layers, int experts, long seed, int nopeV, boolean fp8, Path ckpt, Path twin)
            throws IOException {
        SynthSpec spec = SynthSpec.presetBuilder("ds2-tiny").hidden(64).layers(layers).heads(2).vocab(512).ffn(96)
                .experts(experts).used(2).expertFfn(32).sharedExperts(1).leadingDense(1)
                .qLoraRank(32).kvLoraRank(32).ropeDims(16).nopeDims(nopeV).vDim(nopeV)
                .tiedEmbeddings(false).weightType(GgmlType.F32).seed(seed).build();
        Path src = dir.resolve("src.gguf");
        new ModelSynthesizer(spec).write(src);
        ModelConfig cfg;
        try (GgufFile g = GgufFile.open(src)) {
            cfg = ModelConfig.fromGguf(g.metadata());
            convert(g, cfg, ckpt, twin, fp8);
        }
        writeConfig(cfg, ckpt);
        return cfg;
    }

    @Test
    void int4CheckpointMatchesTheGgufOfTheSameWeights() throws IOException {
        Path ckpt = dir.resolve("ckpt");
        Path twin = dir.resolve("twin.gguf");
        ModelConfig cfg = tinyModel(4, 8, 42, ckpt, twin);
        assertTrue(cfg.layers() - cfg.leadingDense() >= 2, "2+ MoE layers");
        assertEquals(GgmlType.CT_INT4, expertType(ckpt));
        ModelConfig fromJson = CheckpointConfig.read(ckpt);
        assertEquals(cfg.toString().replace("headDimK=" + cfg.headDimK(), "").replace("headDimV=" + cfg.headDimV(), ""),
                fromJson.toString().replace("headDimK=" + fromJson.headDimK(), "").replace("headDimV=" + fromJson.headDimV(), ""),
                "config.json gives the GGUF's configuration");
        assertSameModel(twin, ckpt);
    }

    /** K2 / DeepSeek-V3 style: FP8 e4m3 with 128×128 scale_inv for every projection, experts and kv_b_proj included. */
    @Test
    void fp8CheckpointMatchesTheGgufOfTheSameWeights() throws IOException {
        Path ckpt = dir.resolve("ckpt");
        Path twin = dir.resolve("twin.gguf");
        tinyModel(3, 4, 9, 128, true, ckpt, twin);
        assertEquals(GgmlType.F8_E4M3_B128, expertType(ckpt));
        assertSameModel(twin, ckpt);
    }

    /** Qwen3-MoE (GQA, q/k norms, NEOX rope, no shared expert) with INT4 experts and no name prefix. */
    @Test
    void qwen3MoeCheckpointMatchesTheGgufOfTheSameWeights() throws IOException {
        SynthSpec spec = SynthSpec.presetBuilder("qwen3moe-tiny").hidden(64).layers(3).vocab(512)
                .experts(8).used(2).expertFfn(32).weightType(GgmlType.F32).seed(5).build();
        Path src = dir.resolve("src.gguf");
        new ModelSynthesizer(spec).write(src);
        Path ckpt = dir.resolve("ckpt");
        Path twin = dir.resolve("twin.gguf");
        ModelConfig cfg;
        try (GgufFile g = GgufFile.open(src)) {
            cfg = ModelConfig.fromGguf(g.metadata());
            convert(g, cfg, ckpt, twin, false, "");
        }
        writeQwenConfig(cfg, ckpt);
        assertEquals(cfg, CheckpointConfig.read(ckpt), "config.json gives the GGUF's configuration");
        assertSameModel(twin, ckpt);
    }

    /** A checkpoint's experts (INT4 or FP8 with their scales) through every tier give the mapped logits. */
    @org.junit.jupiter.params.ParameterizedTest(name = "fp8 {0}")
    @org.junit.jupiter.params.provider.ValueSource(booleans = {false, true})
    void checkpointExpertsOnEveryTierGiveTheMappedLogits(boolean fp8) throws IOException {
        Path ckpt = dir.resolve("ckpt");
        Path twin = dir.resolve("twin.gguf");
        ModelConfig cfg = fp8 ? tinyModel(3, 4, 9, 128, true, ckpt, twin) : tinyModel(4, 8, 42, ckpt, twin);
        long routed;
        try (CheckpointWeights w = CheckpointWeights.of(io.trillium.safetensors.SafetensorsCheckpoint.open(ckpt), false)) {
            routed = w.weightBytes(cfg).routedExperts();
        }
        float[][] want = decode(ckpt, io.trillium.tier.ExpertPlacement.mapped());
        long budget = routed / 3;
        var lru = new io.trillium.tier.ExpertPlacement.CacheOptions(budget, io.trillium.tier.ExpertCache.Policy.LRU,
                null, 0, 4, true);
        for (var placement : List.of(io.trillium.tier.ExpertPlacement.inPlace(() -> new io.trillium.tier.PmemTier(false)),
                io.trillium.tier.ExpertPlacement.cached(io.trillium.tier.NvmeTier::new, lru),
                io.trillium.tier.ExpertPlacement.nvme(lru))) {
            float[][] got = decode(ckpt, placement);
            for (int i = 0; i < want.length; i++) {
                double err = relL2(got[i], want[i]);
                // same bytes, so only rounding can differ: the Vector API sums a vector's lanes in an order of
                // its choosing, which differs between the interpreter and C2, and each run is in its own JIT
                // state (seen up to 3e-6 here); a wrong expert or scale would be off by whole percents
                assertTrue(err <= 1e-5, "step " + i + ": rel-L2 " + err + " (same bytes: JIT rounding at most)");
            }
        }
    }

    /** Logits of a prompt and 6 greedy steps (after two warm-up runs), the experts where {@code placement} puts them. */
    private static float[][] decode(Path ckpt, io.trillium.tier.ExpertPlacement placement) throws IOException {
        try (LanguageModel m = Models.load(ckpt, new CpuBackend(2, Numerics.EXACT), placement)) {
            float[][] out = new float[7][];
            for (int run = 0; run < 3; run++) {
                LanguageModel.State s = m.newState(32);
                float[] l = m.forward(s, new int[] {1, 200, 37, 99});
                out[0] = l.clone();
                for (int i = 1; i < out.length; i++) {
                    l = m.forward(s, new int[] {DeepseekGoldenTest.argmax(l)});
                    out[i] = l.clone();
                }
            }
            if (m.expertSource() instanceof io.trillium.tier.ExpertCache c) {
                assertTrue(c.stats().bytesRead() > 0 && c.stats().dramUsed() <= c.stats().dramBudget(), c.stats().toString());
            }
            return out;
        }
    }

    static GgmlType expertType(Path ckpt) throws IOException {
        try (var c = io.trillium.safetensors.SafetensorsCheckpoint.open(ckpt)) {
            return c.tensor(P + "model.layers.1.mlp.experts.0.up_proj.weight").type();
        }
    }

    /** Prompt logits and 8 greedy steps: rel-L2 ≤ 1e-5 each, the same tokens. */
    static void assertSameModel(Path twin, Path ckpt) throws IOException {
        int[] prompt = {1, 200, 37, 99, 5, 300};
        try (LanguageModel a = Models.load(twin, new CpuBackend(2, Numerics.EXACT));
             LanguageModel b = Models.load(ckpt, new CpuBackend(2, Numerics.EXACT))) {
            LanguageModel.State sa = a.newState(64);
            LanguageModel.State sb = b.newState(64);
            float[] la = a.forward(sa, prompt);
            float[] lb = b.forward(sb, prompt);
            double err = relL2(lb, la);
            assertTrue(err <= 1e-5, "prompt logits rel-L2 " + err);
            int[] ga = new int[8];
            int[] gb = new int[8];
            for (int i = 0; i < ga.length; i++) {
                ga[i] = DeepseekGoldenTest.argmax(la);
                gb[i] = DeepseekGoldenTest.argmax(lb);
                la = a.forward(sa, new int[] {ga[i]});
                lb = b.forward(sb, new int[] {gb[i]});
                err = relL2(lb, la);
                assertTrue(err <= 1e-5, "step " + i + " logits rel-L2 " + err);
            }
            assertArrayEquals(ga, gb, "greedy tokens");
            System.out.println(ckpt + " vs GGUF: last rel-L2 " + err + ", greedy " + java.util.Arrays.toString(gb));
        }
    }
}
