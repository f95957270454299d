package io.trillium.model;

import io.trillium.gguf.GgufFormatException;
import io.trillium.gguf.GgufMetadata;
import io.trillium.moe.Routing;

import java.util.Set;

/**
 * Every hyper-parameter the forward pass needs, read from GGUF metadata ({@code <arch>.*} keys) with
 * llama.cpp's per-architecture defaults; nothing model-specific is hard-coded elsewhere.
 *
 * @param arch              {@code general.architecture}
 * @param vocab             vocabulary size (rows of token_embd)
 * @param hidden            embedding length
 * @param layers            block count
 * @param heads             attention heads
 * @param kvHeads           KV heads (1 for MLA files)
 * @param headDimK          per-head key/query width (GQA models; for MLA see {@link #nopeDim}/{@link #ropeDims})
 * @param headDimV          per-head value width
 * @param ffn               dense FFN width (feed_forward_length)
 * @param contextLength     trained context length
 * @param rmsEps            RMSNorm epsilon
 * @param ropeDims          rotated dims per head (MLA: the rope part of q/k)
 * @param ropeBase          rope frequency base
 * @param ropeNeox          NEOX rotation (pairs i, i + d/2) instead of NORM (adjacent pairs)
 * @param ropeScaling       "none", "linear" or "yarn"
 * @param ropeFactor        context extension factor (1 without scaling)
 * @param ropeOrigCtx       original context length of YaRN
 * @param yarnBetaFast      YaRN beta_fast (llama.cpp default 32)
 * @param yarnBetaSlow      YaRN beta_slow (llama.cpp default 1)
 * @param yarnLogMultiplier {@code rope.scaling.yarn_log_multiplier} (0.1 · mscale_all_dim), 0 if absent
 * @param experts           routed experts per MoE layer (0: dense model)
 * @param expertsUsed       experts chosen per token
 * @param expertFfn         routed expert FFN width
 * @param sharedExperts     shared experts (deepseek2: their FFN is sharedExperts · expertFfn)
 * @param leadingDense      leading dense blocks before the MoE blocks
 * @param sigmoidGating     router scores by sigmoid (deepseek2 gating func 2) instead of softmax
 * @param normTopK          renormalise the chosen experts' weights to sum 1
 * @param routedScale       factor on the routed experts' weights
 * @param expertGroups      expert groups (group-limited routing when > 1)
 * @param expertGroupsUsed  groups kept per token
 * @param qLoraRank         MLA query compression rank (0: plain attn_q)
 * @param kvLoraRank        MLA latent width
 * @param nopeDim           MLA per-head non-rotated q/k width
 * @param vHeadDim          MLA per-head value width
 */
public record ModelConfig(
        String arch, int vocab, int hidden, int layers, int heads, int kvHeads, int headDimK, int headDimV,
        int ffn, int contextLength, float rmsEps,
        int ropeDims, float ropeBase, boolean ropeNeox, String ropeScaling, float ropeFactor, int ropeOrigCtx,
        float yarnBetaFast, float yarnBetaSlow, float yarnLogMultiplier,
        int experts, int expertsUsed, int expertFfn, int sharedExperts, int leadingDense,
        boolean sigmoidGating, boolean normTopK, float routedScale, int expertGroups, int expertGroupsUsed,
        int qLoraRank, int kvLoraRank, int nopeDim, int vHeadDim) {

    /** Architectures the forward pass runs. */
    public static final Set<String> SUPPORTED = Set.of("llama", "qwen2", "qwen3", "qwen2moe", "qwen3moe", "deepseek2");

    /** Whether layer {@code l} is a MoE layer. */
    public boolean isMoeLayer(int l) {
        return experts > 0 && l >= leadingDense;
    }

    /** What the router and the prefetcher need of this configuration. */
    public Routing routing() {
        return new Routing(hidden, rmsEps, experts, expertsUsed, sigmoidGating, normTopK, routedScale, expertGroups,
                expertGroupsUsed);
    }

    /** Whether this is the MLA architecture (deepseek2). */
    public boolean isMla() {
        return arch.equals("deepseek2");
    }

    /**
     * Reads the configuration of the model described by {@code md}.
     *
     * @throws io.trillium.gguf.GgufFormatException for an unsupported architecture or a missing required key
     */
    public static ModelConfig fromGguf(GgufMetadata md) {
        String arch = md.getString("general.architecture");
        if (!SUPPORTED.contains(arch)) {
            throw new GgufFormatException(md.source(), -1, "unsupported architecture '" + arch
                    + "' (supported: " + String.join(", ", SUPPORTED.stream().sorted().toList()) + ")");
        }
        String p = arch + ".";
        int hidden = md.getInt(p + "embedding_length");
        int heads = md.getInt(p + "attention.head_count");
        int kvHeads = md.getInt(p + "attention.head_count_kv", heads);
        int headDimK = md.getInt(p + "attention.key_length", hidden / heads);
        int headDimV = md.getInt(p + "attention.value_length", headDimK);
        int vocab = md.has(p + "vocab_size") ? md.getInt(p + "vocab_size")
                : md.getStringArray("tokenizer.ggml.tokens").size();
        boolean mla = arch.equals("deepseek2");
        int ropeDims = md.getInt(p + "rope.dimension_count", mla ? 64 : headDimK);

        String scaling = md.getString(p + "rope.scaling.type", "none");
        float factor = md.getFloat(p + "rope.scaling.factor", 1f);
        if (factor == 0f) {
            factor = 1f;
        }

        int experts = md.getInt(p + "expert_count", 0);
        boolean neox = switch (arch) {
            case "qwen2", "qwen3", "qwen2moe", "qwen3moe" -> true;
            default -> false;   // llama, deepseek2: adjacent pairs (llama.cpp rope type NORM)
        };
        // Router defaults as llama.cpp's graphs set them per architecture.
        int gating = md.getInt(p + "expert_gating_func", 1);
        boolean sigmoid = mla && gating == 2;
        if (mla && gating != 1 && gating != 2) {
            throw new GgufFormatException(md.source(), -1, p + "expert_gating_func = " + gating
                    + " is not supported (1 softmax, 2 sigmoid)");
        }
        boolean normTopK = switch (arch) {
            case "deepseek2" -> md.getBoolean(p + "expert_weights_norm", false);
            case "qwen2moe" -> false;
            default -> true;    // qwen3moe and mixtral-style llama always renormalise
        };
        float scale = mla ? md.getFloat(p + "expert_weights_scale", 1f) : 1f;

        int kvLora = md.getInt(p + "attention.kv_lora_rank", 0);
        int keyMla = md.getInt(p + "attention.key_length_mla", mla ? headDimK : 0);
        int valueMla = md.getInt(p + "attention.value_length_mla", mla ? headDimV : 0);

        return new ModelConfig(arch, vocab, hidden, md.getInt(p + "block_count"), heads, kvHeads, headDimK, headDimV,
                md.getInt(p + "feed_forward_length", 0), md.getInt(p + "context_length", 4096),
                md.getFloat(p + "attention.layer_norm_rms_epsilon", 1e-5f),
                ropeDims, md.getFloat(p + "rope.freq_base", 10000f), neox, scaling, factor,
                md.getInt(p + "rope.scaling.original_context_length", md.getInt(p + "context_length", 4096)),
                md.getFloat(p + "rope.scaling.yarn_beta_fast", 32f), md.getFloat(p + "rope.scaling.yarn_beta_slow", 1f),
                md.getFloat(p + "rope.scaling.yarn_log_multiplier", 0f),
                experts, md.getInt(p + "expert_used_count", 0),
                // Mixtral-style llama files size their experts by feed_forward_length alone.
                md.getInt(p + "expert_feed_forward_length", experts > 0 ? md.getInt(p + "feed_forward_length", 0) : 0),
                md.getInt(p + "expert_shared_count", 0),
                md.getInt(p + "leading_dense_block_count", 0),
                sigmoid, normTopK, scale,
                md.getInt(p + "expert_group_count", 1), md.getInt(p + "expert_group_used_count", 1),
                md.getInt(p + "attention.q_lora_rank", 0), kvLora,
                mla ? keyMla - ropeDims : 0, valueMla);
    }
}
