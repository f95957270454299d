package io.trillium.synth;

import io.trillium.quant.GgmlType;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;

/**
 * The shape of a random-weight model to synthesize: architecture, hyper-parameters, weight type
 * and seed. Zero in a derived field means "derive it" (head dim = hidden / heads, kv heads = heads,
 * rope dims = head dim ...). Fields an architecture does not use must stay zero, so that a value
 * given for the wrong architecture is reported rather than silently ignored.
 *
 * <p>Start from a {@link #preset} (or {@link #builder(String)} for an architecture's default) and
 * override field by field: {@code SynthSpec.preset("kimi-k2.5").toBuilder().layers(4).build()}
 * has Kimi K2.5's shapes with 4 layers.
 *
 * @param arch             llama.cpp architecture: deepseek2, qwen3moe or llama
 * @param name             general.name
 * @param hidden           embedding_length
 * @param layers           block_count
 * @param heads            attention.head_count
 * @param kvHeads          attention.head_count_kv (deepseek2: always 1, MLA is stored as MQA)
 * @param headDim          per-head q/k width (deepseek2: nope + rope, i.e. key_length_mla)
 * @param vocab            tokens (at least 258: 256 bytes, BOS, EOS)
 * @param ffn              feed_forward_length: dense FFN width (deepseek2 leading layers, llama;
 *                         llama with experts: the expert width, as mixtral files have it)
 * @param experts          routed experts (llama: 0 for a dense model)
 * @param used             experts used per token
 * @param expertFfn        expert_feed_forward_length (deepseek2, qwen3moe)
 * @param sharedExperts    expert_shared_count (deepseek2)
 * @param leadingDense     leading_dense_block_count (deepseek2)
 * @param expertGroups     expert_group_count (deepseek2; 1 = no group-limited routing)
 * @param expertGroupsUsed expert_group_used_count (deepseek2)
 * @param qLoraRank        q_lora_rank (deepseek2; 0 = plain attn_q as in the "lite" models)
 * @param kvLoraRank       kv_lora_rank (deepseek2)
 * @param ropeDims         rope.dimension_count (deepseek2: qk_rope_head_dim; others: default head dim)
 * @param nopeDims         qk_nope_head_dim (deepseek2)
 * @param vDim             v_head_dim = value_length_mla (deepseek2)
 * @param ctx              context_length
 * @param ropeBase         rope.freq_base
 * @param yarnFactor       rope.scaling.factor; 0 = no rope scaling keys
 * @param yarnOrigCtx      rope.scaling.original_context_length
 * @param yarnBetaFast     rope.scaling.yarn_beta_fast (deepseek2)
 * @param yarnBetaSlow     rope.scaling.yarn_beta_slow (deepseek2)
 * @param yarnLogMul       rope.scaling.yarn_log_multiplier (deepseek2; 0.1 · mscale_all_dim)
 * @param rmsEps           attention.layer_norm_rms_epsilon
 * @param gatingFunc       expert_gating_func (deepseek2): 1 softmax, 2 sigmoid (adds exp_probs_b)
 * @param weightsScale     expert_weights_scale (deepseek2; 0 = key absent)
 * @param weightsNorm      expert_weights_norm (deepseek2; written only when true, like the converter)
 * @param tiedEmbeddings   no output.weight: the head reuses token_embd (like the ds2-tiny fixture)
 * @param weightType       type of the big matrices (F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q6_K, IQ3_S, TQ1_0, TQ2_0)
 * @param seed             random seed; the file is a function of the spec alone
 * @param hotExperts       skewed popularity: experts per MoE layer that the router favours (0 = none;
 *                         which ones is drawn from the seed, per layer; see {@link HotExperts})
 * @param hotShare         the fraction of routing choices those hot experts get (0 when {@code hotExperts} is 0)
 */
public record SynthSpec(
        String arch, String name,
        int hidden, int layers, int heads, int kvHeads, int headDim, int vocab, int ffn,
        int experts, int used, int expertFfn, int sharedExperts, int leadingDense, int expertGroups,
        int expertGroupsUsed,
        int qLoraRank, int kvLoraRank, int ropeDims, int nopeDims, int vDim,
        int ctx, float ropeBase, float yarnFactor, int yarnOrigCtx, float yarnBetaFast, float yarnBetaSlow,
        float yarnLogMul,
        float rmsEps, int gatingFunc, float weightsScale, boolean weightsNorm, boolean tiedEmbeddings,
        GgmlType weightType, long seed, int hotExperts, float hotShare) {

    public static final List<String> ARCHS = List.of("deepseek2", "qwen3moe", "llama");

    /** Weight types a quantizer exists for. */
    public static final Set<GgmlType> WEIGHT_TYPES = Set.of(GgmlType.F32, GgmlType.F16, GgmlType.BF16,
            GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.Q4_K, GgmlType.Q6_K, GgmlType.TQ1_0, GgmlType.TQ2_0, GgmlType.IQ3_S);

    private static final Map<String, Supplier<Builder>> PRESETS = new LinkedHashMap<>();

    static {
        // MODEL-FACTS 1.1, K2.5 text_config column.
        PRESETS.put("kimi-k2.5", () -> new Builder("deepseek2").name("Kimi-K2.5 (random weights)")
                .hidden(7168).layers(61).heads(64).vocab(163840).ffn(18432)
                .experts(384).used(8).expertFfn(2048).sharedExperts(1).leadingDense(1).expertGroups(1).expertGroupsUsed(1)
                .qLoraRank(1536).kvLoraRank(512).ropeDims(64).nopeDims(128).vDim(128)
                .ctx(262144).ropeBase(50000).yarn(64, 4096, 32, 1, 0.1f).rmsEps(1e-5f)
                .gatingFunc(2).weightsScale(2.827f).weightsNorm(true));
        // MODEL-FACTS 1.1, DeepSeek-V3 column (the MTP layer is not part of llama.cpp files).
        PRESETS.put("deepseek-v3", () -> new Builder("deepseek2").name("DeepSeek-V3 (random weights)")
                .hidden(7168).layers(61).heads(128).vocab(129280).ffn(18432)
                .experts(256).used(8).expertFfn(2048).sharedExperts(1).leadingDense(3).expertGroups(8).expertGroupsUsed(4)
                .qLoraRank(1536).kvLoraRank(512).ropeDims(64).nopeDims(128).vDim(128)
                .ctx(163840).ropeBase(10000).yarn(40, 4096, 32, 1, 0.1f).rmsEps(1e-6f)
                .gatingFunc(2).weightsScale(2.5f).weightsNorm(true));
        PRESETS.put("qwen3-30b-a3b", () -> new Builder("qwen3moe").name("Qwen3-30B-A3B (random weights)")
                .hidden(2048).layers(48).heads(32).kvHeads(4).headDim(128).vocab(151936).ffn(6144)
                .experts(128).used(8).expertFfn(768).ctx(40960).ropeBase(1e6f).rmsEps(1e-6f));
        PRESETS.put("llama3-8b", () -> new Builder("llama").name("Llama-3-8B shape (random weights)")
                .hidden(4096).layers(32).heads(32).kvHeads(8).vocab(128256).ffn(14336)
                .ctx(8192).ropeBase(500000).rmsEps(1e-5f));
        // The shapes of the reference fixtures (shared/fixtures/README.md section 2), all F32.
        PRESETS.put("ds2-tiny", () -> new Builder("deepseek2").name("ds2-tiny shape (random weights)")
                .hidden(256).layers(3).heads(4).vocab(32256).ffn(512)
                .experts(16).used(4).expertFfn(256).sharedExperts(1).leadingDense(1).expertGroups(1).expertGroupsUsed(1)
                .qLoraRank(256).kvLoraRank(256).ropeDims(32).nopeDims(64).vDim(64)
                .ctx(131072).ropeBase(50000).yarn(32, 4096, 32, 1, 0.1f).rmsEps(1e-6f)
                .gatingFunc(2).weightsScale(2.5f).weightsNorm(true).tiedEmbeddings(true).weightType(GgmlType.F32));
        PRESETS.put("qwen3moe-tiny", () -> new Builder("qwen3moe").name("qwen3moe-tiny shape (random weights)")
                .hidden(48).layers(2).heads(4).kvHeads(2).headDim(32).vocab(50257).ffn(384)
                .experts(16).used(4).expertFfn(96).ctx(40960).ropeBase(1e6f).rmsEps(1e-6f).weightType(GgmlType.F32));
        PRESETS.put("llama-tiny", () -> new Builder("llama").name("llama-tiny shape (random weights)")
                .hidden(48).layers(2).heads(3).kvHeads(1).vocab(32000).ffn(192)
                .ctx(4096).ropeBase(10000).rmsEps(1e-5f).weightType(GgmlType.F32));
    }

    /** Validates and fills the derived fields. */
    public SynthSpec {
        if (!ARCHS.contains(arch)) {
            throw new IllegalArgumentException("unknown architecture '" + arch + "' (supported: "
                    + String.join(", ", ARCHS) + ")");
        }
        if (name == null || name.isBlank()) {
            name = arch + " (random weights)";
        }
        positive("hidden", hidden);
        positive("layers", layers);
        positive("heads", heads);
        positive("ctx", ctx);
        if (vocab < SynthVocab.MIN_VOCAB) {
            throw new IllegalArgumentException("vocab " + vocab + " is too small: the byte-level vocabulary needs "
                    + SynthVocab.MIN_VOCAB + " tokens (256 bytes, BOS, EOS)");
        }
        if (!(rmsEps > 0)) {
            throw new IllegalArgumentException("rms eps must be > 0, got " + rmsEps);
        }
        if (!(ropeBase > 0)) {
            throw new IllegalArgumentException("rope base must be > 0, got " + ropeBase);
        }
        if (yarnFactor < 0 || (yarnFactor > 0 && yarnOrigCtx <= 0)) {
            throw new IllegalArgumentException("yarn needs factor > 0 and an original context > 0 (factor "
                    + yarnFactor + ", original context " + yarnOrigCtx + ")");
        }
        if (weightType == null) {
            weightType = GgmlType.Q4_K;
        }
        if (!WEIGHT_TYPES.contains(weightType)) {
            throw new IllegalArgumentException("weight type " + weightType + " cannot be written (supported: "
                    + typeNames() + ")");
        }
        if (used < 0 || used > experts || (experts > 0 && used == 0)) {
            throw new IllegalArgumentException("experts used per token must be 1.." + experts + ", got " + used);
        }
        if (hotExperts != 0 || hotShare != 0) {
            double uniform = (double) hotExperts / experts;
            double max = Math.min(1, (double) hotExperts / used);
            if (experts == 0) {
                throw new IllegalArgumentException("hot experts need a model with routed experts");
            }
            if (hotExperts < 1 || hotExperts >= experts) {
                throw new IllegalArgumentException("hot experts must be 1.." + (experts - 1) + " (of " + experts
                        + " experts), got " + hotExperts);
            }
            if (!(hotShare > uniform && hotShare <= max)) {
                throw new IllegalArgumentException("hot share of " + hotExperts + " hot experts must be above their "
                        + "uniform share " + (float) uniform + " and at most " + (float) max + " (" + used
                        + " chosen per token), got " + hotShare);
            }
        }
        if (arch.equals("deepseek2")) {
            positive("kv lora rank", kvLoraRank);
            positive("rope dims", ropeDims);
            positive("nope dims", nopeDims);
            positive("v dim", vDim);
            nonNegative("q lora rank", qLoraRank);
            if (ropeDims % 2 != 0) {
                throw new IllegalArgumentException("rope dims must be even, got " + ropeDims);
            }
            if (headDim != 0 && headDim != nopeDims + ropeDims) {
                throw new IllegalArgumentException("deepseek2 head dim is nope + rope dims = " + (nopeDims + ropeDims)
                        + "; set the nope/rope dims instead of head dim " + headDim);
            }
            headDim = nopeDims + ropeDims;
            if (kvHeads != 0 && kvHeads != 1 && kvHeads != heads) {
                throw new IllegalArgumentException("deepseek2 (MLA) stores one kv head; kv heads " + kvHeads
                        + " cannot be written");
            }
            kvHeads = 1;
            if (leadingDense < 0 || leadingDense > layers) {
                throw new IllegalArgumentException("leading dense layers must be 0.." + layers + ", got " + leadingDense);
            }
            if (leadingDense > 0) {
                positive("ffn", ffn);
            }
            if (leadingDense < layers) {
                positive("experts", experts);
                positive("expert ffn", expertFfn);
            }
            nonNegative("shared experts", sharedExperts);
            expertGroups = expertGroups == 0 ? 1 : expertGroups;
            expertGroupsUsed = expertGroupsUsed == 0 ? expertGroups : expertGroupsUsed;
            if (expertGroups < 0 || (experts > 0 && experts % expertGroups != 0)
                    || expertGroupsUsed < 1 || expertGroupsUsed > expertGroups) {
                throw new IllegalArgumentException("expert groups " + expertGroups + " (used " + expertGroupsUsed
                        + ") must divide the " + experts + " experts, with 1.." + expertGroups + " used");
            }
            if (gatingFunc == 0) {
                gatingFunc = 2;
            }
            if (gatingFunc != 1 && gatingFunc != 2) {
                throw new IllegalArgumentException("gating func must be 1 (softmax) or 2 (sigmoid), got " + gatingFunc);
            }
        } else {
            zero("q lora rank", qLoraRank);
            zero("kv lora rank", kvLoraRank);
            zero("nope dims", nopeDims);
            zero("v dim", vDim);
            zero("shared experts", sharedExperts);
            zero("leading dense layers", leadingDense);
            zero("expert groups", expertGroups);
            zero("expert groups used", expertGroupsUsed);
            zero("gating func", gatingFunc);
            zero("yarn beta fast", yarnBetaFast);
            zero("yarn beta slow", yarnBetaSlow);
            zero("yarn log multiplier", yarnLogMul);
            zero("expert weights scale", weightsScale);
            if (weightsNorm) {
                throw new IllegalArgumentException("expert weights norm applies to deepseek2 only");
            }
            if (headDim == 0) {
                if (hidden % heads != 0) {
                    throw new IllegalArgumentException("heads " + heads + " do not divide hidden " + hidden
                            + " (head dim = hidden / heads); give the head dim explicitly");
                }
                headDim = hidden / heads;
            }
            positive("head dim", headDim);
            kvHeads = kvHeads == 0 ? heads : kvHeads;
            if (kvHeads < 1 || heads % kvHeads != 0) {
                throw new IllegalArgumentException("kv heads " + kvHeads + " must divide heads " + heads);
            }
            ropeDims = ropeDims == 0 ? headDim : ropeDims;
            if (ropeDims % 2 != 0 || ropeDims > headDim) {
                throw new IllegalArgumentException("rope dims must be even and at most the head dim " + headDim
                        + ", got " + ropeDims);
            }
            if (arch.equals("qwen3moe")) {
                positive("experts", experts);
                positive("expert ffn", expertFfn);
                nonNegative("ffn", ffn);
            } else {
                positive("ffn", ffn);
                nonNegative("experts", experts);
                // llama.cpp's llama loader sizes mixtral-style experts by feed_forward_length.
                if (expertFfn != 0 && expertFfn != ffn) {
                    throw new IllegalArgumentException("llama experts are feed_forward_length wide (mixtral layout): "
                            + "set ffn instead of expert ffn " + expertFfn);
                }
                expertFfn = experts > 0 ? ffn : 0;
            }
        }
    }

    private static void positive(String what, int v) {
        if (v <= 0) {
            throw new IllegalArgumentException(what + " must be > 0, got " + v);
        }
    }

    private static void nonNegative(String what, int v) {
        if (v < 0) {
            throw new IllegalArgumentException(what + " must be >= 0, got " + v);
        }
    }

    private static void zero(String what, double v) {
        if (v != 0) {
            throw new IllegalArgumentException(what + " applies to deepseek2 only");
        }
    }

    static String typeNames() {
        return "Q4_K, Q6_K, Q8_0, Q4_0, IQ3_S, TQ1_0, TQ2_0, F16, BF16, F32";
    }

    // ---- presets

    /** Preset names. */
    public static List<String> presets() {
        return List.copyOf(PRESETS.keySet());
    }

    /** A named preset (see {@link #presets()}). */
    public static SynthSpec preset(String name) {
        return presetBuilder(name).build();
    }

    /** A builder holding a named preset, to override field by field. */
    public static Builder presetBuilder(String name) {
        Supplier<Builder> b = PRESETS.get(name.toLowerCase(Locale.ROOT));
        if (b == null) {
            throw new IllegalArgumentException("unknown preset '" + name + "' (presets: "
                    + String.join(", ", PRESETS.keySet()) + ")");
        }
        return b.get();
    }

    /** A builder with the architecture's default shape: kimi-k2.5, qwen3-30b-a3b or llama3-8b. */
    public static Builder builder(String arch) {
        // The name would claim a real model whose shape the caller is about to change.
        return switch (arch) {
            case "deepseek2" -> presetBuilder("kimi-k2.5").name(null);
            case "qwen3moe" -> presetBuilder("qwen3-30b-a3b").name(null);
            case "llama" -> presetBuilder("llama3-8b").name(null);
            default -> throw new IllegalArgumentException("unknown architecture '" + arch + "' (supported: "
                    + String.join(", ", ARCHS) + ")");
        };
    }

    /** The weight type named {@code s} (case-insensitive), or a one-line error. */
    public static GgmlType parseType(String s) {
        for (GgmlType t : WEIGHT_TYPES) {
            if (t.name().equalsIgnoreCase(s)) {
                return t;
            }
        }
        throw new IllegalArgumentException("unknown or unsupported weight type '" + s + "' (supported: "
                + typeNames() + ")");
    }

    public Builder toBuilder() {
        return new Builder(this);
    }

    // ---- tensors and sizes

    /** Every tensor, in file order, with its type after block-size fallbacks. */
    public List<SynthTensor> tensors() {
        List<SynthTensor> t = new ArrayList<>();
        matrix(t, "token_embd.weight", SynthTensor.Init.EMBEDDING, 0, hidden, vocab);
        f32(t, "output_norm.weight", SynthTensor.Init.NORM, hidden);
        if (!tiedEmbeddings) {
            matrix(t, "output.weight", SynthTensor.Init.MATRIX, 0, hidden, vocab);
        }
        for (int i = 0; i < layers; i++) {
            String p = "blk." + i + ".";
            f32(t, p + "attn_norm.weight", SynthTensor.Init.NORM, hidden);
            switch (arch) {
                case "deepseek2" -> {
                    int qDim = heads * headDim;
                    if (qLoraRank > 0) {
                        f32(t, p + "attn_q_a_norm.weight", SynthTensor.Init.NORM, qLoraRank);
                    }
                    f32(t, p + "attn_kv_a_norm.weight", SynthTensor.Init.NORM, kvLoraRank);
                    if (qLoraRank > 0) {
                        matrix(t, p + "attn_q_a.weight", SynthTensor.Init.MATRIX, 0, hidden, qLoraRank);
                        matrix(t, p + "attn_q_b.weight", SynthTensor.Init.MATRIX, 0, qLoraRank, qDim);
                    } else {
                        matrix(t, p + "attn_q.weight", SynthTensor.Init.MATRIX, 0, hidden, qDim);
                    }
                    matrix(t, p + "attn_kv_a_mqa.weight", SynthTensor.Init.MATRIX, 0, hidden, kvLoraRank + ropeDims);
                    matrix(t, p + "attn_k_b.weight", SynthTensor.Init.MATRIX, 0, nopeDims, kvLoraRank, heads);
                    matrix(t, p + "attn_v_b.weight", SynthTensor.Init.MATRIX, 0, kvLoraRank, vDim, heads);
                    matrix(t, p + "attn_output.weight", SynthTensor.Init.MATRIX, 0, (long) heads * vDim, hidden);
                }
                case "qwen3moe", "llama" -> {
                    matrix(t, p + "attn_q.weight", SynthTensor.Init.MATRIX, 0, hidden, (long) heads * headDim);
                    matrix(t, p + "attn_k.weight", SynthTensor.Init.MATRIX, 0, hidden, (long) kvHeads * headDim);
                    matrix(t, p + "attn_v.weight", SynthTensor.Init.MATRIX, 0, hidden, (long) kvHeads * headDim);
                    matrix(t, p + "attn_output.weight", SynthTensor.Init.MATRIX, 0, (long) heads * headDim, hidden);
                    if (arch.equals("qwen3moe")) {
                        f32(t, p + "attn_q_norm.weight", SynthTensor.Init.NORM, headDim);
                        f32(t, p + "attn_k_norm.weight", SynthTensor.Init.NORM, headDim);
                    }
                }
                default -> throw new AssertionError(arch);
            }
            f32(t, p + "ffn_norm.weight", SynthTensor.Init.NORM, hidden);
            boolean dense = arch.equals("deepseek2") ? i < leadingDense : experts == 0;
            if (dense) {
                matrix(t, p + "ffn_gate.weight", SynthTensor.Init.MATRIX, 0, hidden, ffn);
                matrix(t, p + "ffn_down.weight", SynthTensor.Init.MATRIX, 0, ffn, hidden);
                matrix(t, p + "ffn_up.weight", SynthTensor.Init.MATRIX, 0, hidden, ffn);
                continue;
            }
            f32(t, p + "ffn_gate_inp.weight", SynthTensor.Init.ROUTER, hidden, experts);
            if (arch.equals("deepseek2") && gatingFunc == 2) {
                f32(t, p + "exp_probs_b.bias", SynthTensor.Init.BIAS, experts);
            }
            matrix(t, p + "ffn_gate_exps.weight", SynthTensor.Init.MATRIX, experts, hidden, expertFfn, experts);
            matrix(t, p + "ffn_down_exps.weight", SynthTensor.Init.MATRIX, experts, expertFfn, hidden, experts);
            matrix(t, p + "ffn_up_exps.weight", SynthTensor.Init.MATRIX, experts, hidden, expertFfn, experts);
            if (sharedExperts > 0) {
                long sh = (long) expertFfn * sharedExperts;
                matrix(t, p + "ffn_gate_shexp.weight", SynthTensor.Init.MATRIX, 0, hidden, sh);
                matrix(t, p + "ffn_down_shexp.weight", SynthTensor.Init.MATRIX, 0, sh, hidden);
                matrix(t, p + "ffn_up_shexp.weight", SynthTensor.Init.MATRIX, 0, hidden, sh);
            }
        }
        return t;
    }

    private void matrix(List<SynthTensor> t, String name, SynthTensor.Init init, int routed, long... shape) {
        t.add(new SynthTensor(name, fitting(weightType, shape[0]), weightType, shape, init, routed));
    }

    private static void f32(List<SynthTensor> t, String name, SynthTensor.Init init, long... shape) {
        t.add(new SynthTensor(name, GgmlType.F32, GgmlType.F32, shape, init, 0));
    }

    /**
     * {@code type} if rows of {@code ne0} hold whole blocks of it, else the first of Q8_0, F16, F32
     * that does (llama-quantize also falls back when a row cannot hold a K-quant block).
     */
    static GgmlType fitting(GgmlType type, long ne0) {
        if (ne0 % type.blockSize() == 0) {
            return type;
        }
        for (GgmlType t : List.of(GgmlType.Q8_0, GgmlType.F16)) {
            if (t.blockSize() < type.blockSize() && ne0 % t.blockSize() == 0) {
                return t;
            }
        }
        return GgmlType.F32;
    }

    /** All parameters (the input embedding and the output head both count, as in model cards). */
    public long totalParams() {
        return tensors().stream().mapToLong(SynthTensor::elements).sum();
    }

    /** Parameters used per token: everything but the routed experts that are not picked. */
    public long activeParams() {
        long n = 0;
        for (SynthTensor t : tensors()) {
            n += t.experts() > 0 ? t.elements() / t.experts() * used : t.elements();
        }
        return n;
    }

    /** Bytes of tensor data (each tensor padded to the 32-byte GGUF alignment). */
    public long tensorBytes() {
        return tensors().stream().mapToLong(t -> (t.bytes() + 31) & ~31L).sum();
    }

    /**
     * Weight bytes one decoded token reads: every tensor, except only {@code used} of the routed
     * experts and one row of token_embd (all of it when tied, as it is then the output head too).
     */
    public long activeBytesPerToken() {
        long n = 0;
        for (SynthTensor t : tensors()) {
            if (t.experts() > 0) {
                n += t.bytes() / t.experts() * used;
            } else if (t.name().equals("token_embd.weight") && !tiedEmbeddings) {
                n += t.bytes() / vocab;
            } else {
                n += t.bytes();
            }
        }
        return n;
    }

    /** One line per type fallback, e.g. "attn_k_b: ne0 128 is not a multiple of the Q4_K block 256, written as Q8_0 (61 tensors)". */
    public List<String> fallbacks() {
        Map<String, int[]> count = new LinkedHashMap<>();
        Map<String, String> line = new LinkedHashMap<>();
        for (SynthTensor t : tensors()) {
            if (t.type() != t.requested()) {
                String kind = t.name().replaceFirst("^blk\\.\\d+\\.", "").replaceFirst("\\.(weight|bias)$", "");
                String key = kind + " " + t.ne0() + " " + t.type();
                line.putIfAbsent(key, kind + ": ne0 " + t.ne0() + " is not a multiple of the " + t.requested()
                        + " block " + t.requested().blockSize() + ", written as " + t.type());
                count.computeIfAbsent(key, k -> new int[1])[0]++;
            }
        }
        List<String> out = new ArrayList<>();
        line.forEach((k, l) -> out.add(l + " (" + count.get(k)[0] + (count.get(k)[0] == 1 ? " tensor)" : " tensors)")));
        return out;
    }

    /** A few lines for people: shape, parameter counts and sizes. */
    public String summary() {
        StringBuilder sb = new StringBuilder();
        sb.append(String.format("arch %s (%s), %d layers, hidden %d, %d heads (kv %d, head dim %d), vocab %d, ctx %d%n",
                arch, name, layers, hidden, heads, kvHeads, headDim, vocab, ctx));
        if (experts > 0) {
            sb.append(String.format("experts %d, %d used, expert ffn %d", experts, used, expertFfn));
            if (arch.equals("deepseek2")) {
                sb.append(String.format(", %d shared, %d leading dense (ffn %d), MLA q_lora %d kv_lora %d rope %d nope %d v %d",
                        sharedExperts, leadingDense, ffn, qLoraRank, kvLoraRank, ropeDims, nopeDims, vDim));
            }
            sb.append(String.format("%n"));
        } else {
            sb.append(String.format("dense ffn %d%n", ffn));
        }
        sb.append(String.format("params: %s total, %s active per token%n", formatCount(totalParams()),
                formatCount(activeParams())));
        sb.append(String.format("weights: %s (%s tensors), %s read per token, seed %d",
                weightType, formatBytes(tensorBytes()), formatBytes(activeBytesPerToken()), seed));
        if (hotExperts > 0) {
            sb.append(String.format("%nskew: %d hot experts per layer get %.0f%% of the routing choices", hotExperts,
                    100.0 * hotShare));
        }
        return sb.toString();
    }

    /** 1234567 → "1.23 M". */
    public static String formatCount(long n) {
        if (n >= 1_000_000_000_000L) {
            return String.format("%.3f T", n / 1e12);
        }
        if (n >= 1_000_000_000L) {
            return String.format("%.2f B", n / 1e9);
        }
        return n >= 1_000_000 ? String.format("%.2f M", n / 1e6) : String.format("%,d", n);
    }

    /** Bytes in binary units ("1.50 GiB"). */
    public static String formatBytes(long n) {
        String[] units = {"B", "KiB", "MiB", "GiB", "TiB"};
        double v = n;
        int u = 0;
        while (v >= 1024 && u < units.length - 1) {
            v /= 1024;
            u++;
        }
        return u == 0 ? n + " B" : String.format("%.2f %s", v, units[u]);
    }

    /** Mutable twin of the record, for field-by-field overrides. */
    public static final class Builder {
        private String arch;
        private String name;
        private int hidden, layers, heads, kvHeads, headDim, vocab, ffn;
        private int experts, used, expertFfn, sharedExperts, leadingDense, expertGroups, expertGroupsUsed;
        private int qLoraRank, kvLoraRank, ropeDims, nopeDims, vDim;
        private int ctx;
        private float ropeBase, yarnFactor;
        private int yarnOrigCtx;
        private float yarnBetaFast, yarnBetaSlow, yarnLogMul, rmsEps;
        private int gatingFunc;
        private float weightsScale;
        private boolean weightsNorm, tiedEmbeddings;
        private GgmlType weightType = GgmlType.Q4_K;
        private long seed;
        private int hotExperts;
        private float hotShare;

        /** An empty builder (every field zero) for {@code arch}. */
        public Builder(String arch) {
            this.arch = arch;
        }

        Builder(SynthSpec s) {
            arch = s.arch; name = s.name; hidden = s.hidden; layers = s.layers; heads = s.heads; kvHeads = s.kvHeads;
            headDim = s.headDim; vocab = s.vocab; ffn = s.ffn; experts = s.experts; used = s.used;
            expertFfn = s.expertFfn; sharedExperts = s.sharedExperts; leadingDense = s.leadingDense;
            expertGroups = s.expertGroups; expertGroupsUsed = s.expertGroupsUsed; qLoraRank = s.qLoraRank;
            kvLoraRank = s.kvLoraRank; ropeDims = s.ropeDims; nopeDims = s.nopeDims; vDim = s.vDim; ctx = s.ctx;
            ropeBase = s.ropeBase; yarnFactor = s.yarnFactor; yarnOrigCtx = s.yarnOrigCtx;
            yarnBetaFast = s.yarnBetaFast; yarnBetaSlow = s.yarnBetaSlow; yarnLogMul = s.yarnLogMul; rmsEps = s.rmsEps;
            gatingFunc = s.gatingFunc; weightsScale = s.weightsScale; weightsNorm = s.weightsNorm;
            tiedEmbeddings = s.tiedEmbeddings; weightType = s.weightType; seed = s.seed;
            hotExperts = s.hotExperts; hotShare = s.hotShare;
            // Fields the record derived go back to "derive it", so that overriding hidden or heads
            // re-derives them instead of clashing with stale values.
            if (s.arch.equals("deepseek2")) {
                headDim = 0;
                kvHeads = 0;
            } else {
                ropeDims = s.ropeDims == s.headDim ? 0 : s.ropeDims;
                headDim = s.headDim * s.heads == s.hidden ? 0 : s.headDim;
                kvHeads = s.kvHeads == s.heads ? 0 : s.kvHeads;
                expertFfn = s.arch.equals("llama") ? 0 : s.expertFfn;
            }
        }

        public String arch() {
            return arch;
        }

        public Builder name(String v) { name = v; return this; }
        public Builder hidden(int v) { hidden = v; return this; }
        public Builder layers(int v) { layers = v; return this; }
        public Builder heads(int v) { heads = v; return this; }
        public Builder kvHeads(int v) { kvHeads = v; return this; }
        public Builder headDim(int v) { headDim = v; return this; }
        public Builder vocab(int v) { vocab = v; return this; }
        public Builder ffn(int v) { ffn = v; return this; }
        public Builder experts(int v) { experts = v; return this; }
        public Builder used(int v) { used = v; return this; }
        public Builder expertFfn(int v) { expertFfn = v; return this; }
        public Builder sharedExperts(int v) { sharedExperts = v; return this; }
        public Builder leadingDense(int v) { leadingDense = v; return this; }
        public Builder expertGroups(int v) { expertGroups = v; return this; }
        public Builder expertGroupsUsed(int v) { expertGroupsUsed = v; return this; }
        public Builder qLoraRank(int v) { qLoraRank = v; return this; }
        public Builder kvLoraRank(int v) { kvLoraRank = v; return this; }
        public Builder ropeDims(int v) { ropeDims = v; return this; }
        public Builder nopeDims(int v) { nopeDims = v; return this; }
        public Builder vDim(int v) { vDim = v; return this; }
        public Builder ctx(int v) { ctx = v; return this; }
        public Builder ropeBase(float v) { ropeBase = v; return this; }
        public Builder yarnFactor(float v) { yarnFactor = v; return this; }
        public Builder yarnOrigCtx(int v) { yarnOrigCtx = v; return this; }
        public Builder yarnBetaFast(float v) { yarnBetaFast = v; return this; }
        public Builder yarnBetaSlow(float v) { yarnBetaSlow = v; return this; }
        public Builder yarnLogMul(float v) { yarnLogMul = v; return this; }
        public Builder rmsEps(float v) { rmsEps = v; return this; }
        public Builder gatingFunc(int v) { gatingFunc = v; return this; }
        public Builder weightsScale(float v) { weightsScale = v; return this; }
        public Builder weightsNorm(boolean v) { weightsNorm = v; return this; }
        public Builder tiedEmbeddings(boolean v) { tiedEmbeddings = v; return this; }
        public Builder weightType(GgmlType v) { weightType = v; return this; }
        public Builder seed(long v) { seed = v; return this; }

        /** Skewed popularity: {@code n} hot experts per MoE layer get about {@code share} of the choices. */
        public Builder hotExperts(int n, float share) {
            hotExperts = n;
            hotShare = share;
            return this;
        }

        /** YaRN rope scaling: factor, original context, beta fast/slow, log multiplier. */
        public Builder yarn(float factor, int origCtx, float betaFast, float betaSlow, float logMul) {
            yarnFactor = factor;
            yarnOrigCtx = origCtx;
            yarnBetaFast = betaFast;
            yarnBetaSlow = betaSlow;
            yarnLogMul = logMul;
            return this;
        }

        public SynthSpec build() {
            return new SynthSpec(arch, name, hidden, layers, heads, kvHeads, headDim, vocab, ffn, experts, used,
                    expertFfn, sharedExperts, leadingDense, expertGroups, expertGroupsUsed, qLoraRank, kvLoraRank,
                    ropeDims, nopeDims, vDim, ctx, ropeBase, yarnFactor, yarnOrigCtx, yarnBetaFast, yarnBetaSlow,
                    yarnLogMul, rmsEps, gatingFunc, weightsScale, weightsNorm, tiedEmbeddings, weightType, seed,
                    hotExperts, hotShare);
        }
    }
}
