package io.trillium.model;

import io.trillium.gguf.TensorSource;
import io.trillium.moe.ExpertSource;
import io.trillium.moe.ExpertWeights;
import io.trillium.quant.GgmlType;
import io.trillium.quant.Tensor;
import io.trillium.safetensors.SafetensorsCheckpoint;
import io.trillium.safetensors.SafetensorsFormatException;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A Hugging Face checkpoint seen under GGUF tensor names, so the forward passes run on it unchanged:
 * {@code blk.N.attn_kv_b.weight} is {@code model.layers.N.self_attn.kv_b_proj.weight} (the model derives
 * its absorbed k_b/v_b from it once at load, as for legacy GGUFs), and so on. K2.5's text weights carry
 * the {@code language_model.} prefix. Routed experts are separate entries per expert; the stacked
 * {@code blk.N.ffn_*_exps.weight} names answer {@link #dims} only, and {@link #experts} views each
 * expert's three matrices in place (INT4 or FP8 with their scales, or plain floats).
 */
public final class CheckpointWeights implements TensorSource {
    private static final Map<String, String> LAYER = Map.ofEntries(
            Map.entry("attn_norm.weight", "input_layernorm.weight"),
            Map.entry("ffn_norm.weight", "post_attention_layernorm.weight"),
            Map.entry("attn_q_a.weight", "self_attn.q_a_proj.weight"),
            Map.entry("attn_q_a_norm.weight", "self_attn.q_a_layernorm.weight"),
            Map.entry("attn_q_b.weight", "self_attn.q_b_proj.weight"),
            Map.entry("attn_kv_a_mqa.weight", "self_attn.kv_a_proj_with_mqa.weight"),
            Map.entry("attn_kv_a_norm.weight", "self_attn.kv_a_layernorm.weight"),
            Map.entry("attn_kv_b.weight", "self_attn.kv_b_proj.weight"),
            Map.entry("attn_q.weight", "self_attn.q_proj.weight"),
            Map.entry("attn_k.weight", "self_attn.k_proj.weight"),
            Map.entry("attn_v.weight", "self_attn.v_proj.weight"),
            Map.entry("attn_q.bias", "self_attn.q_proj.bias"),
            Map.entry("attn_k.bias", "self_attn.k_proj.bias"),
            Map.entry("attn_v.bias", "self_attn.v_proj.bias"),
            Map.entry("attn_q_norm.weight", "self_attn.q_norm.weight"),
            Map.entry("attn_k_norm.weight", "self_attn.k_norm.weight"),
            Map.entry("attn_output.weight", "self_attn.o_proj.weight"),
            Map.entry("ffn_gate.weight", "mlp.gate_proj.weight"),
            Map.entry("ffn_up.weight", "mlp.up_proj.weight"),
            Map.entry("ffn_down.weight", "mlp.down_proj.weight"),
            Map.entry("ffn_gate_inp.weight", "mlp.gate.weight"),
            Map.entry("exp_probs_b.bias", "mlp.gate.e_score_correction_bias"),
            Map.entry("ffn_gate_shexp.weight", "mlp.shared_experts.gate_proj.weight"),
            Map.entry("ffn_up_shexp.weight", "mlp.shared_experts.up_proj.weight"),
            Map.entry("ffn_down_shexp.weight", "mlp.shared_experts.down_proj.weight"),
            Map.entry("ffn_gate_inp_shexp.weight", "mlp.shared_expert_gate.weight"));
    private static final String[] WHICH = {"gate", "up", "down"};

    private final SafetensorsCheckpoint ckpt;
    private final String prefix;     // "" or "language_model." (K2.5)
    private final boolean mixtral;   // block_sparse_moe.* names
    private final Arena arena = Arena.ofShared();
    private final Tensor ropeFreqs;  // rope_freqs.weight from config.json (llama3 rope scaling), or null

    private CheckpointWeights(SafetensorsCheckpoint ckpt, String prefix, boolean mixtral, float[] ropeFactors) {
        this.ckpt = ckpt;
        this.prefix = prefix;
        this.mixtral = mixtral;
        if (ropeFactors == null) {
            ropeFreqs = null;
        } else {
            MemorySegment seg = arena.allocate((long) ropeFactors.length * Float.BYTES, 64);
            MemorySegment.copy(ropeFactors, 0, seg, ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN),
                    0, ropeFactors.length);
            ropeFreqs = new Tensor("rope_freqs.weight", GgmlType.F32, new long[] {ropeFactors.length}, seg);
        }
    }

    /** The weights of checkpoint {@code ckpt} (which this closes); {@code mixtral} selects Mixtral's MoE names. */
    public static CheckpointWeights of(SafetensorsCheckpoint ckpt, boolean mixtral) {
        return of(ckpt, mixtral, null);
    }

    /**
     * As above, answering {@code rope_freqs.weight} with {@code ropeFactors} when not null (llama 3.1's
     * rope scaling, which a GGUF carries as that tensor and a checkpoint in config.json).
     */
    public static CheckpointWeights of(SafetensorsCheckpoint ckpt, boolean mixtral, float[] ropeFactors) {
        String prefix = ckpt.has("language_model.model.embed_tokens.weight") ? "language_model." : "";
        return new CheckpointWeights(ckpt, prefix, mixtral, ropeFactors);
    }

    /** The checkpoint behind the view. */
    public SafetensorsCheckpoint checkpoint() {
        return ckpt;
    }

    /** The checkpoint name of GGUF tensor {@code name}, or null where it has none. */
    public String hfName(String name) {
        switch (name) {
            case "token_embd.weight":
                return prefix + "model.embed_tokens.weight";
            case "output_norm.weight":
                return prefix + "model.norm.weight";
            case "output.weight":
                return prefix + "lm_head.weight";
            default:
                break;
        }
        if (!name.startsWith("blk.")) {
            return null;
        }
        int dot = name.indexOf('.', 4);
        if (dot < 0) {
            return null;
        }
        String layer = name.substring(4, dot);
        String rest = name.substring(dot + 1);
        String hf = LAYER.get(rest);
        if (hf == null) {
            return null;
        }
        if (mixtral && rest.equals("ffn_gate_inp.weight")) {
            hf = "block_sparse_moe.gate.weight";
        } else if (!ckpt.hasTensor(prefix + "model.layers." + layer + "." + hf) && rest.contains("_shexp")) {
            hf = hf.replace("shared_experts.", "shared_expert.");   // Qwen2-MoE's singular name
        }
        return prefix + "model.layers." + layer + "." + hf;
    }

    /** The checkpoint name of matrix {@code k} (0 gate, 1 up, 2 down) of expert {@code e} of {@code layer}. */
    public String expertName(int layer, int e, int k) {
        String base = prefix + "model.layers." + layer + ".";
        return mixtral ? base + "block_sparse_moe.experts." + e + ".w" + new int[] {1, 3, 2}[k] + ".weight"
                : base + "mlp.experts." + e + "." + WHICH[k] + "_proj.weight";
    }

    /** {@code blk.L.ffn_{gate,up,down}_exps.weight}: layer and matrix index, or null. */
    private static int[] expertStack(String name) {
        if (!name.startsWith("blk.") || !name.endsWith("_exps.weight")) {
            return null;
        }
        int dot = name.indexOf('.', 4);
        String rest = name.substring(dot + 1);
        for (int k = 0; k < 3; k++) {
            if (rest.equals("ffn_" + WHICH[k] + "_exps.weight")) {
                return new int[] {Integer.parseInt(name.substring(4, dot)), k};
            }
        }
        return null;
    }

    @Override
    public boolean hasTensor(String name) {
        if (name.equals("rope_freqs.weight")) {
            return ropeFreqs != null;
        }
        int[] s = expertStack(name);
        if (s != null) {
            return ckpt.hasTensor(expertName(s[0], 0, s[1]));
        }
        String hf = hfName(name);
        return hf != null && ckpt.hasTensor(hf);
    }

    @Override
    public Tensor tensor(String name) {
        if (name.equals("rope_freqs.weight") && ropeFreqs != null) {
            return ropeFreqs;
        }
        String hf = hfName(name);
        if (hf == null || !ckpt.hasTensor(hf)) {
            throw new SafetensorsFormatException(ckpt.directory(), -1, "no tensor for '" + name + "'"
                    + (hf == null ? " in a checkpoint" : " (expected " + hf + ")"));
        }
        return ckpt.tensor(hf);
    }

    /** Dims, ne0 first; an expert stack answers [in, out, experts] from expert 0 and the count of experts present. */
    @Override
    public long[] dims(String name) {
        int[] s = expertStack(name);
        if (s == null) {
            return tensor(name).shape();
        }
        Tensor t0 = ckpt.tensor(expertName(s[0], 0, s[1]));
        int n = 0;
        while (ckpt.hasTensor(expertName(s[0], n, s[1]))) {
            n++;
        }
        return new long[] {t0.dim(0), t0.dim(1), n};
    }

    @Override
    public List<Path> files() {
        return ckpt.files().stream().map(f -> f.path()).toList();
    }

    /**
     * Views of every routed expert of the MoE layers ({@code isMoe[l]}), in place; each must have the
     * shape of expert 0 of its layer.
     */
    public ExpertSource experts(boolean[] isMoe, int experts) {
        ExpertWeights[][] w = new ExpertWeights[isMoe.length][];
        long[] bytes = new long[isMoe.length];
        for (int l = 0; l < isMoe.length; l++) {
            if (!isMoe[l]) {
                continue;
            }
            w[l] = new ExpertWeights[experts];
            for (int e = 0; e < experts; e++) {
                Tensor[] m = new Tensor[3];
                for (int k = 0; k < 3; k++) {
                    String name = expertName(l, e, k);
                    if (!ckpt.hasTensor(name)) {
                        throw new SafetensorsFormatException(ckpt.directory(), -1, "missing expert tensor " + name
                                + " (layer " + l + " needs " + experts + " experts)");
                    }
                    m[k] = ckpt.tensor(name);
                    Tensor first = e == 0 ? m[k] : k == 0 ? w[l][0].gate() : k == 1 ? w[l][0].up() : w[l][0].down();
                    if (!java.util.Arrays.equals(m[k].shape(), first.shape()) || m[k].type() != first.type()) {
                        throw new SafetensorsFormatException(ckpt.directory(), -1, name + " has dims "
                                + java.util.Arrays.toString(m[k].shape()) + " " + m[k].type() + ", unlike expert 0's "
                                + first);
                    }
                }
                w[l][e] = new ExpertWeights(m[0], m[1], m[2]);
            }
            bytes[l] = w[l][0].gate().totalBytes() + w[l][0].up().totalBytes() + w[l][0].down().totalBytes();
        }
        AtomicLong delivered = new AtomicLong();
        return new ExpertSource() {
            /** Views made at load: any number may be held at once. */
            @Override
            public boolean holdsAny() {
                return true;
            }

            @Override
            public ExpertWeights expert(int layer, int expert) {
                delivered.addAndGet(bytes[layer]);
                return w[layer][expert];
            }

            @Override
            public Map<String, Long> bytesRead() {
                return Map.of("dram", delivered.get());
            }
        };
    }

    /**
     * Where each routed expert's three matrices (and an INT4/FP8 matrix's scales) lie in the
     * checkpoint's files, for the tier layer; each must have the type and shape of expert 0 of its layer.
     */
    public io.trillium.tier.ExpertLayout layout(boolean[] isMoe, int experts) {
        io.trillium.tier.ExpertLayout.Part[][][] parts = new io.trillium.tier.ExpertLayout.Part[isMoe.length][][];
        for (int l = 0; l < isMoe.length; l++) {
            if (!isMoe[l]) {
                continue;
            }
            parts[l] = new io.trillium.tier.ExpertLayout.Part[experts][3];
            for (int e = 0; e < experts; e++) {
                for (int k = 0; k < 3; k++) {
                    String name = expertName(l, e, k);
                    if (!ckpt.hasTensor(name)) {
                        throw new SafetensorsFormatException(ckpt.directory(), -1, "missing expert tensor " + name
                                + " (layer " + l + " needs " + experts + " experts)");
                    }
                    Tensor t = ckpt.tensor(name);   // checks dtype, shape and companions
                    var data = ckpt.info(ckpt.has(name) ? name : name + "_packed");
                    String scaleName = t.type() == io.trillium.quant.GgmlType.CT_INT4 ? name + "_scale"
                            : t.type() == io.trillium.quant.GgmlType.F8_E4M3_B128 ? name + "_scale_inv" : null;
                    var scale = scaleName == null ? null : ckpt.info(scaleName);
                    var p = new io.trillium.tier.ExpertLayout.Part(name, data.file(), data.fileOffset(), data.byteSize(),
                            t.type(), t.dim(0), t.dim(1), scale == null ? null : scale.file(),
                            scale == null ? 0 : scale.fileOffset(), scale == null ? 0 : scale.byteSize());
                    var first = parts[l][0][k];
                    if (e > 0 && (first.type() != p.type() || first.cols() != p.cols() || first.rows() != p.rows()
                            || first.totalBytes() != p.totalBytes())) {
                        throw new SafetensorsFormatException(ckpt.directory(), data.fileOffset(), name + " is "
                                + p.type() + " " + p.cols() + "x" + p.rows() + ", unlike expert 0's " + first.type() + " "
                                + first.cols() + "x" + first.rows());
                    }
                    parts[l][e][k] = p;
                }
            }
        }
        int layers = isMoe.length;
        boolean[] moe = isMoe.clone();
        return new io.trillium.tier.ExpertLayout() {
            @Override
            public int layers() {
                return layers;
            }

            @Override
            public int experts() {
                return experts;
            }

            @Override
            public boolean isMoe(int layer) {
                return moe[layer];
            }

            @Override
            public Part[] parts(int layer, int expert) {
                if (!moe[layer] || expert < 0 || expert >= experts) {
                    throw new IndexOutOfBoundsException("no expert " + expert + " in layer " + layer);
                }
                return parts[layer][expert].clone();
            }
        };
    }

    /** Bytes every token reads besides its routed experts: every tensor but the routed experts and one embedding row. */
    long alwaysActiveBytes(ModelConfig cfg) {
        long total = 0;
        String embed = prefix + "model.embed_tokens.weight";
        for (String name : ckpt.names()) {
            if (!isRoutedExpert(name)) {
                long b = ckpt.info(name).byteSize();
                total += name.equals(embed) ? b / Math.max(1, cfg.vocab()) : b;
            }
        }
        return total;
    }

    /** The checkpoint's weight bytes as {@link WeightBytes#of} counts a GGUF's (scales included). */
    public WeightBytes weightBytes(ModelConfig cfg) {
        long total = 0;
        long routed = 0;
        for (String name : ckpt.names()) {
            long b = ckpt.info(name).byteSize();
            total += b;
            routed += isRoutedExpert(name) ? b : 0;
        }
        long active = alwaysActiveBytes(cfg) + (cfg.experts() > 0 ? routed / cfg.experts() * cfg.expertsUsed() : 0);
        return new WeightBytes(total, active, routed);
    }

    private static boolean isRoutedExpert(String name) {
        return name.contains(".mlp.experts.") || name.contains(".block_sparse_moe.experts.");
    }

    @Override
    public void close() {
        arena.close();
        ckpt.close();
    }
}
