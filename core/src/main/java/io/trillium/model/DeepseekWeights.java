package io.trillium.model;

import io.trillium.gguf.GgufFormatException;
import io.trillium.gguf.TensorSource;
import io.trillium.moe.ExpertWeights;
import io.trillium.quant.GgmlType;
import io.trillium.quant.Kernels;
import io.trillium.quant.Tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * deepseek2's weights as the file holds them, checked at load: per block the MLA projections, the per-head
 * k_b/v_b views and the feed-forward (dense, or router + shared expert; the routed experts' stacks are only
 * checked here, their views are the expert source's). Matrices are views of the file; norm vectors are
 * copied out (small); legacy {@code attn_kv_b}'s transposed k_nope lives in the model's arena.
 */
final class DeepseekWeights {

    /** The weights of one block. Norm vectors are copied out (small); matrices are views of the file. */
    record Layer(float[] attnNorm, Tensor qA, float[] qANorm, Tensor q, Tensor kvA, float[] kvANorm,
                 Tensor[] kB, Tensor[] vB, HeadStack kBAll, HeadStack vBAll, Tensor attnOut, float[] ffnNorm,
                 ExpertWeights dense, Tensor router, float[] routerBias, ExpertWeights shared) {
    }

    /** All heads' k_b (or v_b) matrices in one tensor, head {@code h} starting {@code h · headBytes} bytes in. */
    record HeadStack(Tensor all, long headBytes) {
    }

    final Tensor embed;
    final Tensor output;
    final float[] outputNorm;
    final Layer[] layers;
    /** Per block: whether it is an MoE block. */
    final boolean[] moe;
    /** The widest shared expert (0 without one). */
    final int sharedFfn;

    private final TensorSource gguf;
    private final ModelConfig cfg;
    private final Arena arena;
    private final int nope;
    private final int kvLora;
    private final int vDim;

    /** {@code arena}: where copies made at load live (freed by the model's close). */
    DeepseekWeights(TensorSource gguf, ModelConfig cfg, Arena arena) {
        this.gguf = gguf;
        this.cfg = cfg;
        this.arena = arena;
        this.nope = cfg.nopeDim();
        this.kvLora = cfg.kvLoraRank();
        this.vDim = cfg.vHeadDim();
        int ropeDims = cfg.ropeDims();
        int d = cfg.hidden();
        int heads = cfg.heads();
        this.embed = tensor("token_embd.weight", d, cfg.vocab());
        this.output = gguf.hasTensor("output.weight") ? tensor("output.weight", d, cfg.vocab()) : embed;
        this.outputNorm = vector("output_norm.weight", d);
        this.layers = new Layer[cfg.layers()];
        this.moe = new boolean[cfg.layers()];
        int maxShared = 0;
        for (int l = 0; l < layers.length; l++) {
            String p = "blk." + l + ".";
            int qDim = heads * (nope + ropeDims);
            Tensor qA = null;
            float[] qANorm = null;
            Tensor q;
            if (cfg.qLoraRank() > 0) {
                qA = tensor(p + "attn_q_a.weight", d, cfg.qLoraRank());
                qANorm = vector(p + "attn_q_a_norm.weight", cfg.qLoraRank());
                q = tensor(p + "attn_q_b.weight", cfg.qLoraRank(), qDim);
            } else {
                q = tensor(p + "attn_q.weight", d, qDim);
            }
            Tensor kvA = tensor(p + "attn_kv_a_mqa.weight", d, kvLora + ropeDims);
            float[] kvANorm = vector(p + "attn_kv_a_norm.weight", kvLora);
            Tensor[] kB = new Tensor[heads];
            Tensor[] vB = new Tensor[heads];
            HeadStack[] stacks = perHeadKvB(p, kB, vB);
            Tensor attnOut = tensor(p + "attn_output.weight", heads * vDim, d);
            float[] ffnNorm = vector(p + "ffn_norm.weight", d);

            ExpertWeights dense = null;
            Tensor router = null;
            float[] bias = null;
            ExpertWeights shared = null;
            if (cfg.isMoeLayer(l)) {
                moe[l] = true;
                int e = cfg.experts();
                int f = cfg.expertFfn();
                router = tensor(p + "ffn_gate_inp.weight", d, e);
                bias = gguf.hasTensor(p + "exp_probs_b.bias") ? vector(p + "exp_probs_b.bias", e) : null;
                checkDims(p + "ffn_gate_exps.weight", d, f, e);   // the expert source makes the views
                checkDims(p + "ffn_up_exps.weight", d, f, e);
                checkDims(p + "ffn_down_exps.weight", f, d, e);
                if (cfg.sharedExperts() > 0 || gguf.hasTensor(p + "ffn_gate_shexp.weight")) {
                    // llama.cpp: n_ff_exp × n_expert_shared; taken from the file so other widths load too.
                    long w = gguf.hasTensor(p + "ffn_gate_shexp.weight")
                            ? gguf.dims(p + "ffn_gate_shexp.weight")[1] : (long) f * cfg.sharedExperts();
                    shared = new ExpertWeights(tensor(p + "ffn_gate_shexp.weight", d, w),
                            tensor(p + "ffn_up_shexp.weight", d, w), tensor(p + "ffn_down_shexp.weight", w, d));
                    maxShared = Math.max(maxShared, Math.toIntExact(w));
                }
            } else {
                dense = new ExpertWeights(tensor(p + "ffn_gate.weight", d, cfg.ffn()),
                        tensor(p + "ffn_up.weight", d, cfg.ffn()), tensor(p + "ffn_down.weight", cfg.ffn(), d));
            }
            layers[l] = new Layer(vector(p + "attn_norm.weight", d), qA, qANorm, q, kvA, kvANorm, kB, vB,
                    stacks[0], stacks[1], attnOut, ffnNorm, dense, router, bias, shared);
        }
        this.sharedFfn = maxShared;
    }

    /**
     * Fills the per-head views: {@code kB[h]} has kv_lora rows of nope values (row c = W_UK_h[:, c]),
     * {@code vB[h]} has v rows of kv_lora values. From attn_k_b/attn_v_b when present (3-D, or 2-D with
     * the heads flattened as ik_llama.cpp writes them); else from the legacy attn_kv_b, whose per-head
     * rows are [k_nope (nope rows) | v (v rows)] of kv_lora values: v is a plain row view, k_nope is
     * transposed once into F32 in the model's arena.
     */
    private HeadStack[] perHeadKvB(String p, Tensor[] kB, Tensor[] vB) {
        int heads = cfg.heads();
        String kName = p + "attn_k_b.weight";
        String vName = p + "attn_v_b.weight";
        boolean split = gguf.hasTensor(kName) || gguf.hasTensor(vName) || !gguf.hasTensor(p + "attn_kv_b.weight");
        if (split) {
            Tensor k = headStack(kName, nope, kvLora, heads);
            Tensor v = headStack(vName, kvLora, vDim, heads);
            for (int h = 0; h < heads; h++) {
                kB[h] = k.expert(h);
                vB[h] = v.expert(h);
            }
            return new HeadStack[] {new HeadStack(k, k.rowBytes() * kvLora), new HeadStack(v, v.rowBytes() * vDim)};
        }
        Tensor kv = tensor(p + "attn_kv_b.weight", kvLora, (long) heads * (nope + vDim));
        MemorySegment kT = arena.allocate((long) heads * nope * kvLora * Float.BYTES, 64);
        ValueLayout.OfFloat f32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
        float[] rows = new float[nope * kvLora];
        for (int h = 0; h < heads; h++) {
            long first = (long) h * (nope + vDim);
            kv.dequantizeRows(first, first + nope, rows, 0);
            long base = (long) h * nope * kvLora;
            for (int c = 0; c < kvLora; c++) {
                for (int i = 0; i < nope; i++) {
                    kT.setAtIndex(f32, base + (long) c * nope + i, rows[i * kvLora + c]);
                }
            }
            vB[h] = kv.rows(first + nope, first + nope + vDim);
        }
        Tensor k = new Tensor(p + "attn_k_b(from attn_kv_b)", GgmlType.F32, new long[] {nope, kvLora, heads}, kT);
        for (int h = 0; h < heads; h++) {
            kB[h] = k.expert(h);
        }
        // v rows of every head: from head 0's first v row to the last head's last one
        Tensor vAll = kv.rows(nope, (long) heads * (nope + vDim));
        return new HeadStack[] {new HeadStack(k, k.rowBytes() * kvLora),
                new HeadStack(vAll, kv.rowBytes() * (nope + vDim))};
    }

    /** A per-head stack [ne0, ne1, heads]; a 2-D [ne0, ne1 · heads] file tensor is viewed as 3-D. */
    private Tensor headStack(String name, long ne0, long ne1, int heads) {
        if (gguf.hasTensor(name) && gguf.dims(name).length == 2) {
            Tensor t = tensor(name, ne0, ne1 * heads);
            return new Tensor(t.name(), t.type(), new long[] {ne0, ne1, heads}, t.data());
        }
        return tensor(name, ne0, ne1, heads);
    }

    /** The tensor {@code name}, which must have exactly {@code dims} (trailing 1s aside) and a supported type. */
    Tensor tensor(String name, long... dims) {
        checkDims(name, dims);
        Tensor t = gguf.tensor(name);
        if (!Kernels.isSupported(t)) {
            throw error("tensor " + name + " has type " + t.type() + ", which Trillium cannot compute on");
        }
        return t;
    }

    /** Tensor {@code name} must exist with exactly {@code dims} (trailing 1s aside). */
    void checkDims(String name, long... dims) {
        if (!gguf.hasTensor(name)) {
            throw error("missing tensor " + name + " (expected dims " + Arrays.toString(dims) + ")");
        }
        long[] has = gguf.dims(name);
        for (int i = 0; i < Math.max(has.length, dims.length); i++) {
            if ((i < has.length ? has[i] : 1) != (i < dims.length ? dims[i] : 1)) {
                throw error("tensor " + name + " has dims " + Arrays.toString(has) + ", expected "
                        + Arrays.toString(dims));
            }
        }
    }

    /** A 1-D weight (norm, bias) as floats. */
    float[] vector(String name, int n) {
        float[] v = new float[n];
        tensor(name, n).dequantizeRows(0, 1, v, 0);
        return v;
    }

    private GgufFormatException error(String message) {
        return gguf.formatError(message);
    }
}
