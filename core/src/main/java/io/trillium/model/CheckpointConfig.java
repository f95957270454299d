package io.trillium.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.trillium.safetensors.SafetensorsFormatException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A Hugging Face {@code config.json} read into the same {@link ModelConfig} a GGUF of the model gives:
 * DeepseekV3 / {@code kimi_k2} (and {@code kimi_k25}, whose text model is under {@code text_config}) as
 * deepseek2 with MLA stored as llama.cpp does (one KV head, key = latent + rope, value = latent);
 * Qwen2/Qwen3(-MoE), Mixtral and Llama with their HF rope layout (rotate-half: NEOX pairs, since the
 * checkpoint's q/k rows are not permuted the way llama.cpp's converter permutes them); Llama 3.1's
 * {@code llama3} rope scaling as the GGUF's per-pair frequency factors ({@link #ropeFreqFactors}).
 */
public final class CheckpointConfig {
    private CheckpointConfig() {
    }

    /** The text model's config node of {@code config.json} ({@code text_config} when present). */
    static JsonNode textConfig(Path configFile) throws IOException {
        if (!Files.isRegularFile(configFile)) {
            throw new SafetensorsFormatException(configFile, -1, "missing config.json beside the safetensors files");
        }
        JsonNode root = new ObjectMapper().readTree(configFile.toFile());
        if (root == null || !root.isObject()) {
            throw new SafetensorsFormatException(configFile, -1, "expected a JSON object");
        }
        return root.has("text_config") ? root.get("text_config") : root;
    }

    /** The architecture (llama.cpp's name) of a config node, or a clear error. */
    static String arch(Path file, JsonNode c) {
        String type = c.path("model_type").asText("");
        String archs = c.path("architectures").toString();
        return switch (type) {
            case "deepseek_v3", "deepseek_v2", "kimi_k2" -> "deepseek2";
            case "qwen3_moe" -> "qwen3moe";
            case "qwen2_moe" -> "qwen2moe";
            case "qwen3" -> "qwen3";
            case "qwen2" -> "qwen2";
            case "llama", "mixtral", "mistral" -> "llama";
            default -> {
                if (archs.contains("DeepseekV3") || archs.contains("DeepseekV2")) {
                    yield "deepseek2";
                }
                throw new SafetensorsFormatException(file, -1, "model_type '" + type + "' (architectures " + archs
                        + ") is not supported: expected deepseek_v3, kimi_k2, kimi_k25, qwen2, qwen3, qwen2_moe, qwen3_moe, mixtral or llama");
            }
        };
    }

    /** Reads {@code dir/config.json}. */
    public static ModelConfig read(Path dir) throws IOException {
        Path file = dir.resolve("config.json");
        JsonNode c = textConfig(file);
        String arch = arch(file, c);
        boolean mla = arch.equals("deepseek2");
        int hidden = req(file, c, "hidden_size");
        int heads = req(file, c, "num_attention_heads");
        int layers = req(file, c, "num_hidden_layers");
        int vocab = req(file, c, "vocab_size");
        int ctx = c.path("max_position_embeddings").asInt(4096);
        float eps = (float) c.path("rms_norm_eps").asDouble(1e-6);
        JsonNode rs = ropeScaling(c);
        String scaling = ropeType(rs);
        if (scaling.equals("llama3")) {
            // as in a GGUF: no scaling type, factor or original context, but per-pair factors (ropeFreqFactors)
            rs = com.fasterxml.jackson.databind.node.MissingNode.getInstance();
            scaling = "none";
        } else if (scaling.equals("default")) {
            scaling = "none";
        }
        float factor = (float) rs.path("factor").asDouble(1);
        float base = (float) c.path("rope_theta").asDouble(rs.path("rope_theta").asDouble(10000));
        int origCtx = rs.path("original_max_position_embeddings").asInt(ctx);
        float betaFast = (float) rs.path("beta_fast").asDouble(32);
        float betaSlow = (float) rs.path("beta_slow").asDouble(1);
        float logMul = scaling.equals("yarn") ? (float) (0.1 * rs.path("mscale_all_dim").asDouble(0)) : 0f;

        if (mla) {
            int rope = req(file, c, "qk_rope_head_dim");
            int nope = req(file, c, "qk_nope_head_dim");
            int v = req(file, c, "v_head_dim");
            int kvLora = req(file, c, "kv_lora_rank");
            int experts = c.path("n_routed_experts").asInt(0);
            String scoring = c.path("scoring_func").asText("softmax");
            return new ModelConfig(arch, vocab, hidden, layers, heads, 1, kvLora + rope, kvLora,
                    req(file, c, "intermediate_size"), ctx, eps, rope, base, false, scaling, factor, origCtx,
                    betaFast, betaSlow, logMul,
                    experts, c.path("num_experts_per_tok").asInt(0), c.path("moe_intermediate_size").asInt(0),
                    c.path("n_shared_experts").asInt(0), c.path("first_k_dense_replace").asInt(0),
                    scoring.equals("sigmoid"), c.path("norm_topk_prob").asBoolean(false),
                    (float) c.path("routed_scaling_factor").asDouble(1),
                    c.path("n_group").asInt(1), c.path("topk_group").asInt(1),
                    c.path("q_lora_rank").asInt(0), kvLora, nope, v);
        }
        int kvHeads = c.path("num_key_value_heads").asInt(heads);
        int headDim = c.hasNonNull("head_dim") ? c.get("head_dim").asInt() : hidden / heads;
        int experts = c.path("num_local_experts").asInt(c.path("num_experts").asInt(0));
        int ffn = c.path("intermediate_size").asInt(0);
        int expertFfn = experts == 0 ? 0 : c.path("moe_intermediate_size").asInt(ffn);
        boolean normTopK = switch (arch) {
            case "qwen2moe" -> false;
            case "qwen3moe" -> c.path("norm_topk_prob").asBoolean(true);
            default -> true;
        };
        return new ModelConfig(arch, vocab, hidden, layers, heads, kvHeads, headDim, headDim, ffn, ctx, eps,
                (int) Math.round(headDim * c.path("partial_rotary_factor").asDouble(1)), base, true, scaling, factor,
                origCtx, betaFast, betaSlow, logMul,
                experts, c.path("num_experts_per_tok").asInt(0), expertFfn, 0, 0, false, normTopK, 1f, 1, 1,
                0, 0, 0, 0);
    }

    private static JsonNode ropeScaling(JsonNode c) {
        return c.has("rope_scaling") && !c.get("rope_scaling").isNull() ? c.get("rope_scaling") : c.path("rope_parameters");
    }

    private static String ropeType(JsonNode rs) {
        return rs.path("type").asText(rs.path("rope_type").asText("none"));
    }

    /**
     * Llama 3.1+'s {@code rope_type: llama3} as the per-pair frequency factors llama.cpp's converter
     * writes to {@code rope_freqs.weight} (pair i turns at base^(-2i/d) / factor[i]), or null without it.
     */
    public static float[] ropeFreqFactors(Path dir, ModelConfig cfg) throws IOException {
        JsonNode c = textConfig(dir.resolve("config.json"));
        JsonNode rs = ropeScaling(c);
        if (!ropeType(rs).equals("llama3")) {
            return null;
        }
        double factor = rs.path("factor").asDouble(8);
        double low = rs.path("low_freq_factor").asDouble(1);
        double high = rs.path("high_freq_factor").asDouble(4);
        double oldCtx = rs.path("original_max_position_embeddings")
                .asDouble(c.path("original_max_position_embeddings").asDouble(8192));
        int d = cfg.ropeDims();
        float[] f = new float[d / 2];
        for (int i = 0; i < f.length; i++) {
            double wavelen = 2 * Math.PI * Math.pow(cfg.ropeBase(), 2.0 * i / d);
            if (wavelen < oldCtx / high) {
                f[i] = 1;
            } else if (wavelen > oldCtx / low) {
                f[i] = (float) factor;
            } else {
                double smooth = (oldCtx / wavelen - low) / (high - low);
                f[i] = (float) (1 / ((1 - smooth) / factor + smooth));
            }
        }
        return f;
    }

    private static int req(Path file, JsonNode c, String key) {
        JsonNode v = c.get(key);
        if (v == null || !v.canConvertToInt()) {
            throw new SafetensorsFormatException(file, -1, "config key '" + key + "' is missing or not an integer");
        }
        return v.asInt();
    }
}
