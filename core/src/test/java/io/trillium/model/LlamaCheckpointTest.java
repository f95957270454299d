package io.trillium.model;

import io.trillium.gguf.GgufFile;
import io.trillium.gguf.GgufTensorInfo;
import io.trillium.quant.GgmlType;
import io.trillium.safetensors.SafetensorsCheckpoint;
import io.trillium.safetensors.SafetensorsWriter;
import io.trillium.synth.ModelSynthesizer;
import io.trillium.synth.SynthSpec;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

import static io.trillium.model.CheckpointModelTest.assertSameModel;
import static io.trillium.model.CheckpointModelTest.bf16;
import static io.trillium.model.CheckpointModelTest.reversed;
import static io.trillium.model.CheckpointModelTest.values;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Hugging Face Llama and Mixtral checkpoints (BF16 throughout, q/k rows in HF's rotate-half order,
 * Mixtral's {@code block_sparse_moe.experts.E.w1/w3/w2}) against a GGUF of the same weights laid out as
 * llama.cpp's converter lays them out (q/k rows permuted for NORM rope): same logits, same greedy tokens.
 */
class LlamaCheckpointTest {
    @TempDir
    Path dir;

    /**
     * Undoes convert_hf_to_gguf's {@code permute} of q/k rows: per head of {@code d} rows, GGUF row
     * {@code 2i + s} is HF row {@code s·d/2 + i} (HF rotates x[i] with x[i + d/2], GGUF x[2i] with x[2i+1]).
     */
    static float[] unpermute(float[] w, int heads, int cols) {
        int d = w.length / cols / heads;
        float[] hf = new float[w.length];
        for (int h = 0; h < heads; h++) {
            for (int i = 0; i < d / 2; i++) {
                for (int s = 0; s < 2; s++) {
                    System.arraycopy(w, (h * d + 2 * i + s) * cols, hf, (h * d + s * d / 2 + i) * cols, cols);
                }
            }
        }
        return hf;
    }

    /** Mixtral's names for the router and expert e's gate (w1), up (w3) and down (w2). */
    static String hfName(String gguf, int expert) {
        switch (gguf) {
            case "token_embd.weight":
                return "model.embed_tokens.weight";
            case "output_norm.weight":
                return "model.norm.weight";
            case "output.weight":
                return "lm_head.weight";
            default:
                break;
        }
        String[] parts = gguf.split("\\.", 3);
        String layer = "model.layers." + parts[1] + ".";
        return switch (parts[2]) {
            case "ffn_gate_inp.weight" -> layer + "block_sparse_moe.gate.weight";
            case "ffn_gate_exps.weight" -> layer + "block_sparse_moe.experts." + expert + ".w1.weight";
            case "ffn_up_exps.weight" -> layer + "block_sparse_moe.experts." + expert + ".w3.weight";
            case "ffn_down_exps.weight" -> layer + "block_sparse_moe.experts." + expert + ".w2.weight";
            default -> layer + CheckpointModelTest.HF.get(parts[2]);
        };
    }

    /**
     * The BF16 checkpoint in HF layout and the F32 twin GGUF of the same (BF16-rounded) values, with
     * {@code rope_freqs.weight} = {@code ropeFreqs} if not null (what llama.cpp's converter derives from llama3 rope scaling).
     */
    static void convert(GgufFile src, ModelConfig cfg, Path ckptDir, Path twin, float[] ropeFreqs) throws IOException {
        SafetensorsWriter st = new SafetensorsWriter();
        Map<String, float[]> twinValues = new HashMap<>();
        if (ropeFreqs != null) {
            twinValues.put("rope_freqs.weight", ropeFreqs);
        }
        for (GgufTensorInfo t : src.tensors()) {
            String name = t.name();
            float[] x = values(src, name);
            for (int i = 0; i < x.length; i++) {
                x[i] = bf16(x[i]);
            }
            twinValues.put(name, x);
            long[] dims = t.shape();
            if (name.endsWith("_exps.weight")) {
                int per = Math.toIntExact(dims[0] * dims[1]);
                for (int e = 0; e < dims[2]; e++) {
                    st.bf16(hfName(name, e), new long[] {dims[1], dims[0]},
                            java.util.Arrays.copyOfRange(x, e * per, (e + 1) * per));
                }
                continue;
            }
            int cols = (int) dims[0];
            float[] hf = name.endsWith("attn_q.weight") ? unpermute(x, cfg.heads(), cols)
                    : name.endsWith("attn_k.weight") ? unpermute(x, cfg.kvHeads(), cols) : x;
            st.bf16(hfName(name, -1), reversed(dims), hf);
        }
        CheckpointModelTest.write(src, st, ckptDir, twinValues, twin);
    }

    static void writeConfig(ModelConfig c, boolean tied, String ropeScaling, Path ckptDir) throws IOException {
        String moe = c.experts() == 0 ? "" : """
                "num_local_experts": %d, "num_experts_per_tok": %d, "sliding_window": null, \
                """.formatted(c.experts(), c.expertsUsed());
        Files.writeString(ckptDir.resolve("config.json"), """
                {"model_type": "%s", "architectures": ["%s"], %s"vocab_size": %d, "hidden_size": %d,
                 "intermediate_size": %d, "num_hidden_layers": %d, "num_attention_heads": %d,
                 "num_key_value_heads": %d, "rope_theta": %s, "rms_norm_eps": %s, "max_position_embeddings": %d,
                 "rope_scaling": %s, "tie_word_embeddings": %s, "hidden_act": "silu", "torch_dtype": "bfloat16"}
                """.formatted(c.experts() == 0 ? "llama" : "mixtral",
                c.experts() == 0 ? "LlamaForCausalLM" : "MixtralForCausalLM", moe, c.vocab(), c.hidden(), c.ffn(),
                c.layers(), c.heads(), c.kvHeads(), c.ropeBase(), c.rmsEps(), c.contextLength(), ropeScaling, tied));
        CheckpointModelTest.writeTokenizer(ckptDir);
    }

    /** {@code spec} synthesized, converted to checkpoint {@code ckpt} and twin; returns the GGUF's configuration. */
    ModelConfig synth(SynthSpec spec, Path ckpt, Path twin) throws IOException {
        return synth(spec, "null", null, ckpt, twin);
    }

    /** With config.json's {@code rope_scaling} and the twin's {@code rope_freqs.weight} (null: none). */
    ModelConfig synth(SynthSpec spec, String ropeScaling, float[] ropeFreqs, Path ckpt, Path twin) throws IOException {
        Path src = dir.resolve("src.gguf");
        new ModelSynthesizer(spec).write(src);
        ModelConfig cfg;
        try (GgufFile g = GgufFile.open(src)) {
            cfg = ModelConfig.fromGguf(g.metadata());
            convert(g, cfg, ckpt, twin, ropeFreqs);
        }
        writeConfig(cfg, spec.tiedEmbeddings(), ropeScaling, ckpt);
        // the same model but for the rope pairing: NEOX over the checkpoint's rotate-half rows
        assertFalse(cfg.ropeNeox());
        assertEquals(cfg.toString().replace("ropeNeox=false", "ropeNeox=true"), CheckpointConfig.read(ckpt).toString(),
                "config.json gives the GGUF's configuration");
        return cfg;
    }

    /** Dense Llama with GQA (2 KV heads of 4) and tied embeddings (no lm_head, as Llama 3.2 1B/3B). */
    @Test
    void llamaCheckpointMatchesTheGgufOfTheSameWeights() throws IOException {
        SynthSpec spec = SynthSpec.presetBuilder("llama-tiny").hidden(64).layers(3).heads(4).kvHeads(2).vocab(512)
                .ffn(96).tiedEmbeddings(true).seed(11).build();
        Path ckpt = dir.resolve("ckpt");
        Path twin = dir.resolve("twin.gguf");
        synth(spec, ckpt, twin);
        try (SafetensorsCheckpoint c = SafetensorsCheckpoint.open(ckpt)) {
            assertFalse(c.hasTensor("lm_head.weight"));
            assertEquals(GgmlType.BF16, c.tensor("model.layers.0.self_attn.q_proj.weight").type());
        }
        assertSameModel(twin, ckpt);
    }

    /** Mixtral: llama attention, BF16 experts under block_sparse_moe (w1 gate, w3 up, w2 down), untied lm_head. */
    @Test
    void mixtralCheckpointMatchesTheGgufOfTheSameWeights() throws IOException {
        SynthSpec spec = SynthSpec.presetBuilder("llama-tiny").hidden(64).layers(3).heads(4).kvHeads(1).vocab(512)
                .ffn(32).experts(8).used(2).tiedEmbeddings(false).seed(12).build();
        Path ckpt = dir.resolve("ckpt");
        Path twin = dir.resolve("twin.gguf");
        ModelConfig cfg = synth(spec, ckpt, twin);
        assertEquals(8, cfg.experts());
        try (SafetensorsCheckpoint c = SafetensorsCheckpoint.open(ckpt)) {
            assertTrue(c.hasTensor("model.layers.2.block_sparse_moe.experts.7.w2.weight"));
            assertEquals(GgmlType.BF16, c.tensor("model.layers.2.block_sparse_moe.experts.7.w2.weight").type());
        }
        assertSameModel(twin, ckpt);
    }

    /**
     * Llama 3.1's {@code rope_type: llama3} scaling: config.json in the checkpoint, {@code rope_freqs.weight}
     * in the GGUF. Head dim 16, base 10000, original context 64 (wavelengths 16..64 are blended):
     * pair i has wavelength 2π·10000^(i/8); below 64/4 factor 1, above 64/1 the factor 8, between
     * 1 / ((1 - s)/8 + s) with s = (64/wavelength - 1) / 3.
     */
    @Test
    void llama3RopeScalingMatchesTheGgufFrequencyFactors() throws IOException {
        float[] factors = {1f, 1.2939758f, 7.667385f, 8f, 8f, 8f, 8f, 8f};
        SynthSpec spec = SynthSpec.presetBuilder("llama-tiny").hidden(64).layers(2).heads(4).kvHeads(2).vocab(512)
                .ffn(96).tiedEmbeddings(true).seed(13).build();
        Path ckpt = dir.resolve("ckpt");
        Path twin = dir.resolve("twin.gguf");
        synth(spec, """
                {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                 "original_max_position_embeddings": 64}""", factors, ckpt, twin);
        float[] got = CheckpointConfig.ropeFreqFactors(ckpt, CheckpointConfig.read(ckpt));
        for (int i = 0; i < factors.length; i++) {
            assertEquals(factors[i], got[i], 1e-6f * factors[i], "pair " + i);
        }
        assertSameModel(twin, ckpt);
    }
}
