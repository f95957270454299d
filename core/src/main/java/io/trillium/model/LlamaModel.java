package io.trillium.model;

import io.trillium.backend.ComputeBackend;
import io.trillium.backend.CpuBackend;
import io.trillium.backend.Ops;
import io.trillium.backend.WorkerPool;
import io.trillium.gguf.GgufFile;
import io.trillium.gguf.TensorSource;
import io.trillium.kv.KvCache;
import io.trillium.moe.ExpertExecutor;
import io.trillium.moe.ExpertSource;
import io.trillium.moe.ExpertWeights;
import io.trillium.moe.Prefetcher;
import io.trillium.moe.Router;
import io.trillium.quant.Dequantizer;
import io.trillium.quant.Kernels;
import io.trillium.quant.Tensor;
import io.trillium.tier.ExpertPlacement;
import io.trillium.tokenizer.Tokenizer;

import java.util.Arrays;
import java.util.Optional;

/**
 * The GQA transformer family as llama.cpp runs it: {@code llama} (dense, or mixtral-style MoE),
 * {@code qwen2} (q/k/v biases), {@code qwen3} (per-head q/k RMSNorm before RoPE), {@code qwen2moe}
 * (MoE without renormalisation plus a sigmoid-gated shared expert) and {@code qwen3moe}.
 */
public final class LlamaModel implements LanguageModel {

    /** One transformer block's weights; absent optional tensors are null. */
    record Layer(float[] attnNorm, Tensor wq, Tensor wk, Tensor wv, Tensor wo,
                 float[] bq, float[] bk, float[] bv, float[] bo, float[] qNorm, float[] kNorm,
                 float[] ffnNorm, ExpertWeights ffn, float[] bGate, float[] bUp, float[] bDown,  // dense
                 Tensor router, ExpertWeights shared, Tensor sharedGate) {      // MoE
    }

    private final TensorSource gguf;   // a GGUF file or a checkpoint seen under GGUF names
    final ModelConfig c;
    private final Tokenizer tokenizer;
    final ComputeBackend backend;
    private final WorkerPool pool;          // attention heads in parallel; null off the CPU backend
    final Tensor tokenEmbd;
    final Dequantizer embdRow;
    final Layer[] layers;
    final float[] outputNorm;
    final Tensor output;            // output.weight, or the tied token_embd
    private final RoutedExperts routed;
    private final ExpertSource experts;      // routed.source, null for a dense model
    final Prefetcher prefetcher;     // routed.prefetcher, null for a dense model
    private final int expertFfn;
    final int sharedFfn;
    final Rope rope;
    private final ForwardGuard guard = new ForwardGuard();   // one forward pass at a time
    /** Whether a prompt on the CPU backend runs as batches ({@link ForwardOptions#batchedPrefill}). */
    private final boolean batchedPrefill;

    private LlamaModel(TensorSource gguf, ModelConfig c, Tokenizer tokenizer, ComputeBackend backend,
                       ExpertPlacement placement, ForwardOptions options) {
        this.batchedPrefill = options.batchedPrefill();
        this.gguf = gguf;
        this.c = c;
        this.tokenizer = tokenizer;
        this.backend = backend;
        this.pool = backend instanceof CpuBackend cpu && cpu.threads() > 1 ? cpu.pool() : null;
        int h = c.hidden();
        int qDim = c.heads() * c.headDimK();
        int kDim = c.kvHeads() * c.headDimK();
        int vDim = c.kvHeads() * c.headDimV();
        if (c.heads() % c.kvHeads() != 0) {
            throw new IllegalArgumentException(c.arch() + ": " + c.heads() + " heads are not a multiple of "
                    + c.kvHeads() + " KV heads");
        }
        if (c.ropeDims() > c.headDimK() || c.ropeDims() % 2 != 0) {
            throw new IllegalArgumentException(c.arch() + ": rope.dimension_count " + c.ropeDims()
                    + " does not fit the head dim " + c.headDimK());
        }
        tokenEmbd = tensor("token_embd.weight", h, c.vocab());
        embdRow = Kernels.reference(tokenEmbd);
        outputNorm = floats(tensor("output_norm.weight", h));
        output = optional("output.weight", h, c.vocab()).orElse(tokenEmbd);

        boolean[] moe = new boolean[c.layers()];
        int eff = 0;
        int sff = 0;
        layers = new Layer[c.layers()];
        for (int l = 0; l < c.layers(); l++) {
            String p = "blk." + l + ".";
            float[] qNorm = null;
            float[] kNorm = null;
            if (c.arch().equals("qwen3") || c.arch().equals("qwen3moe")) {
                qNorm = floats(tensor(p + "attn_q_norm.weight", c.headDimK()));
                kNorm = floats(tensor(p + "attn_k_norm.weight", c.headDimK()));
            }
            ExpertWeights ffn = null;
            float[][] ffnBias = new float[3][];
            Tensor router = null;
            ExpertWeights shared = null;
            Tensor sharedGate = null;
            moe[l] = c.isMoeLayer(l);
            if (moe[l]) {
                router = tensor(p + "ffn_gate_inp.weight", h, c.experts());
                // mixtral GGUFs carry no expert_feed_forward_length: the width is the tensor's
                int w = eff > 0 ? eff : c.expertFfn() > 0 ? c.expertFfn()
                        : Math.toIntExact(gguf.dims(p + "ffn_gate_exps.weight")[1]);
                checkDims(p + "ffn_gate_exps.weight", h, w, c.experts());   // the expert source makes the views
                checkDims(p + "ffn_up_exps.weight", h, w, c.experts());
                checkDims(p + "ffn_down_exps.weight", w, h, c.experts());
                eff = w;
                if (gguf.hasTensor(p + "ffn_gate_shexp.weight")) {
                    int s = sff > 0 ? sff : Math.toIntExact(tensor(p + "ffn_gate_shexp.weight").dim(1));
                    shared = new ExpertWeights(tensor(p + "ffn_gate_shexp.weight", h, s),
                            tensor(p + "ffn_up_shexp.weight", h, s), tensor(p + "ffn_down_shexp.weight", s, h));
                    sharedGate = optional(p + "ffn_gate_inp_shexp.weight", h).orElse(null);
                    sff = s;
                }
            } else {
                ffn = new ExpertWeights(tensor(p + "ffn_gate.weight", h, c.ffn()),
                        tensor(p + "ffn_up.weight", h, c.ffn()), tensor(p + "ffn_down.weight", c.ffn(), h));
                ffnBias = new float[][] {bias(p + "ffn_gate.bias", c.ffn()), bias(p + "ffn_up.bias", c.ffn()),
                        bias(p + "ffn_down.bias", h)};
            }
            layers[l] = new Layer(floats(tensor(p + "attn_norm.weight", h)),
                    tensor(p + "attn_q.weight", h, qDim), tensor(p + "attn_k.weight", h, kDim),
                    tensor(p + "attn_v.weight", h, vDim), tensor(p + "attn_output.weight", c.heads() * c.headDimV(), h),
                    bias(p + "attn_q.bias", qDim), bias(p + "attn_k.bias", kDim),
                    bias(p + "attn_v.bias", vDim), bias(p + "attn_output.bias", h), qNorm, kNorm,
                    floats(tensor(p + "ffn_norm.weight", h)), ffn, ffnBias[0], ffnBias[1], ffnBias[2],
                    router, shared, sharedGate);
        }
        expertFfn = eff;
        sharedFfn = sff;
        Prefetcher.Gate[] gates = new Prefetcher.Gate[layers.length];
        for (int l = 0; l < layers.length; l++) {
            Layer w = layers[l];
            gates[l] = w.router() != null ? new Prefetcher.Gate(w.ffnNorm(), w.router(), null) : null;
        }
        routed = new RoutedExperts(gguf, c, backend, placement, eff > 0, moe, gates);
        experts = routed.source;
        prefetcher = routed.prefetcher;
        // llama 3.1+: per-pair frequency factors
        rope = new Rope(c, optional("rope_freqs.weight", c.ropeDims() / 2).map(LlamaModel::floats).orElse(null));
    }

    /** Builds the forward pass of {@code cfg.arch()} on the tensors of {@code gguf}. */
    public static LanguageModel create(GgufFile gguf, ModelConfig cfg, Tokenizer tokenizer, ComputeBackend backend) {
        return create(gguf, cfg, tokenizer, backend, ExpertPlacement.mapped(), ForwardOptions.DEFAULT);
    }

    /**
     * As {@link #create(GgufFile, ModelConfig, Tokenizer, ComputeBackend)}, with the experts where {@code placement}
     * puts them and the forward pass as {@code options} says.
     */
    static LanguageModel create(TensorSource gguf, ModelConfig cfg, Tokenizer tokenizer, ComputeBackend backend,
                                ExpertPlacement placement, ForwardOptions options) {
        return new LlamaModel(gguf, cfg, tokenizer, backend, placement, options);
    }

    @Override
    public Prefetcher prefetcher() {
        return prefetcher;
    }

    @Override
    public long tokensForwarded() {
        return routed.tokens();
    }

    @Override
    public ExpertSource expertSource() {
        return experts;
    }

    @Override
    public java.util.Map<String, Long> bytesRead() {
        return routed.bytesRead();
    }

    @Override
    public ModelConfig config() {
        return c;
    }

    @Override
    public Tokenizer tokenizer() {
        return tokenizer;
    }

    @Override
    public State newState(int contextLength) {
        return new LlamaState(contextLength);
    }

    @Override
    public float[] forward(LanguageModel.State state, int[] tokens) {
        if (!(state instanceof LlamaState s) || s.model() != this) {
            throw new IllegalArgumentException("the state was not made by this model");
        }
        if (tokens.length == 0) {
            throw new IllegalArgumentException("no tokens to forward");
        }
        int total = s.pos + tokens.length;
        if (total > s.capacity()) {
            throw new IllegalArgumentException(total + " tokens exceed the context of " + s.capacity());
        }
        for (int t : tokens) {
            if (t < 0 || t >= c.vocab()) {
                throw new IllegalArgumentException("token id " + t + " is outside the vocabulary (0.." + (c.vocab() - 1) + ")");
            }
        }
        guard.enter();
        try {
            if (tokens.length > 1 && backend instanceof CpuBackend cpu && batchedPrefill) {
                for (int i = 0; i < tokens.length; i += DeepseekModel.PREFILL_BATCH) {
                    int end = Math.min(tokens.length, i + DeepseekModel.PREFILL_BATCH);
                    int[] chunk = Arrays.copyOfRange(tokens, i, end);
                    LlamaBatch.run(this, new LlamaState[] {s}, new int[] {chunk.length}, cpu, chunk, end == tokens.length);
                }
            } else {
                for (int i = 0; i < tokens.length; i++) {   // logits only for the last one
                    step(s, tokens[i], i == tokens.length - 1);
                }
            }
        } finally {
            guard.exit();
        }
        routed.forwarded(tokens.length);
        return s.logits;
    }

    @Override
    public float[][] forwardEach(LanguageModel.State[] states, int[] tokens) {
        LanguageModel.checkEach(states, tokens, c.vocab());
        if (states.length == 1 || !(backend instanceof CpuBackend cpu) || !batchedPrefill) {
            return LanguageModel.super.forwardEach(states, tokens);
        }
        LlamaState[] ls = new LlamaState[states.length];
        for (int i = 0; i < states.length; i++) {
            if (!(states[i] instanceof LlamaState s) || s.model() != this) {
                throw new IllegalArgumentException("state " + i + " was not made by this model");
            }
            if (s.pos + 1 > s.capacity()) {
                throw new IllegalArgumentException((s.pos + 1) + " tokens exceed the context of " + s.capacity()
                        + " (state " + i + ")");
            }
            ls[i] = s;
        }
        int[] ones = new int[states.length];
        Arrays.fill(ones, 1);
        guard.enter();
        try {
            LlamaBatch.run(this, ls, ones, cpu, tokens, true);
        } finally {
            guard.exit();
        }
        routed.forwarded(tokens.length);
        float[][] logits = new float[states.length][];
        for (int i = 0; i < states.length; i++) {
            logits[i] = ls[i].logits;
        }
        return logits;
    }

    /** One token at position {@code s.pos}: every layer, then (if asked) the logits. */
    private void step(LlamaState s, int token, boolean logits) {
        int h = c.hidden();
        int hd = c.headDimK();
        int pos = s.pos;
        float eps = c.rmsEps();
        float[] x = s.x;
        embdRow.dequantize(tokenEmbd.data(), token * tokenEmbd.rowBytes(), x, 0, h);
        rope.angles(pos, s.cos, s.sin);

        for (int l = 0; l < layers.length; l++) {
            Layer w = layers[l];
            // ---- attention
            Ops.rmsnorm(s.xb, 0, x, 0, w.attnNorm(), h, eps);
            backend.matVec(w.wq(), s.xb, s.q);
            backend.matVec(w.wk(), s.xb, s.k);
            backend.matVec(w.wv(), s.xb, s.v);
            addBias(s.q, w.bq());
            addBias(s.k, w.bk());
            addBias(s.v, w.bv());
            for (int head = 0; head < c.heads(); head++) {
                if (w.qNorm() != null) {
                    Ops.rmsnorm(s.q, head * hd, s.q, head * hd, w.qNorm(), hd, eps);
                }
                rope.apply(s.q, head * hd, s.cos, s.sin);
            }
            float[] keys = s.kv.keys(l);
            float[] values = s.kv.values(l);
            for (int kh = 0; kh < c.kvHeads(); kh++) {
                if (w.kNorm() != null) {
                    Ops.rmsnorm(s.k, kh * hd, s.k, kh * hd, w.kNorm(), hd, eps);
                }
                rope.apply(s.k, kh * hd, s.cos, s.sin);
            }
            System.arraycopy(s.k, 0, keys, s.kv.keyOffset(pos, 0), s.k.length);
            System.arraycopy(s.v, 0, values, s.kv.valueOffset(pos, 0), s.v.length);

            attendAll(s, l);
            backend.matVec(w.wo(), s.att, s.xb);
            addBias(s.xb, w.bo());
            Ops.add(x, s.xb, h);

            // ---- feed-forward
            Ops.rmsnorm(s.xb, 0, x, 0, w.ffnNorm(), h, eps);
            if (w.ffn() != null) {
                backend.matVec(w.ffn().gate(), s.xb, s.hb);
                backend.matVec(w.ffn().up(), s.xb, s.hb2);
                addBias(s.hb, w.bGate());
                addBias(s.hb2, w.bUp());
                Ops.swiglu(s.hb, s.hb2, s.hb.length);
                backend.matVec(w.ffn().down(), s.hb, s.ffnOut);
                addBias(s.ffnOut, w.bDown());
            } else {
                Arrays.fill(s.ffnOut, 0f);
                backend.matVec(w.router(), s.xb, s.routerLogits);
                s.router.route(s.routerLogits, null, s.ids, s.weights);
                prefetcher.routed(s.prefetch, l, s.ids, s.router.used(), x);
                s.executor.run(l, s.xb, s.ids, s.weights, s.router.used(), s.ffnOut);
                if (w.shared() != null) {
                    // qwen2moe: the shared expert, scaled by sigmoid(ffn_gate_inp_shexp · x)
                    ExpertExecutor.swiglu(backend, w.shared(), s.xb, s.shGate, s.shUp, s.shOut);
                    float g = 1f;
                    if (w.sharedGate() != null) {
                        backend.matVec(w.sharedGate(), s.xb, s.one);
                        g = (float) (1.0 / (1.0 + Math.exp(-s.one[0])));
                    }
                    Ops.axpy(s.ffnOut, g, s.shOut, h);
                }
            }
            Ops.add(x, s.ffnOut, h);
        }
        s.pos++;
        if (logits) {
            Ops.rmsnorm(s.xb, 0, x, 0, outputNorm, h, eps);
            backend.matVec(output, s.xb, s.logits);
        }
    }

    static void addBias(float[] y, int off, float[] bias) {
        if (bias != null) {
            Ops.axpy(y, off, 1f, bias, 0, bias.length);
        }
    }

    /** Every query head's attention at {@code s.pos}: heads are independent, split over the pool when there is enough work. */
    void attendAll(LlamaState s, int layer) {
        if (pool != null && (long) c.heads() * (s.pos + 1) * (c.headDimK() + c.headDimV()) >= 1 << 16) {
            s.attendTask.layer = layer;
            pool.parallelFor(c.heads(), 1, s.attendTask);
        } else {
            attend(s, layer, 0, c.heads());
        }
    }

    /** Causal attention of query heads {@code [from, to)} at {@code s.pos} over positions 0..pos. */
    private void attend(LlamaState s, int layer, int from, int to) {
        int hd = c.headDimK();
        int hdv = c.headDimV();
        int n = s.pos + 1;
        int group = c.heads() / c.kvHeads();
        float scale = (float) (1.0 / Math.sqrt(hd));
        float[] keys = s.kv.keys(layer);
        float[] values = s.kv.values(layer);
        for (int head = from; head < to; head++) {
            int kh = head / group;   // GQA: consecutive query heads share a KV head
            int so = head * s.capacity();
            for (int t = 0; t < n; t++) {
                s.scores[so + t] = Ops.dot(s.q, head * hd, keys, s.kv.keyOffset(t, kh), hd) * scale;
            }
            Ops.softmax(s.scores, so, n);
            int out = head * hdv;
            Arrays.fill(s.att, out, out + hdv, 0f);
            for (int t = 0; t < n; t++) {
                float a = s.scores[so + t];
                int vo = s.kv.valueOffset(t, kh);
                for (int i = 0; i < hdv; i++) {
                    s.att[out + i] += a * values[vo + i];
                }
            }
        }
    }

    private static void addBias(float[] y, float[] bias) {
        addBias(y, 0, bias);
    }

    @Override
    public void close() {
        try {
            backend.close();
        } finally {
            routed.close();
            gguf.close();
        }
    }

    // ---- loading

    /** Tensor {@code name}, which must exist with exactly {@code dims} (ne0 first; none = any shape). */
    private Tensor tensor(String name, long... dims) {
        requirePresent(name, dims);
        Tensor t = gguf.tensor(name);
        checkShape(name, t.shape(), dims);
        return t;
    }

    private void requirePresent(String name, long[] dims) {
        if (!gguf.hasTensor(name)) {
            throw gguf.formatError(c.arch() + ": missing tensor '" + name + "'"
                    + (dims.length > 0 ? " (expected dims " + Arrays.toString(dims) + ")" : ""));
        }
    }

    /** Tensor {@code name} must exist with exactly {@code dims}, whether or not it can be viewed as one tensor. */
    private void checkDims(String name, long... dims) {
        requirePresent(name, dims);
        checkShape(name, gguf.dims(name), dims);
    }

    private float[] bias(String name, long n) {
        return optional(name, n).map(LlamaModel::floats).orElse(null);
    }

    private Optional<Tensor> optional(String name, long... dims) {
        Optional<Tensor> t = gguf.findTensor(name);
        t.ifPresent(v -> checkShape(name, v.shape(), dims));
        return t;
    }

    private void checkShape(String name, long[] has, long[] dims) {
        if (dims.length == 0) {
            return;
        }
        boolean ok = true;   // trailing dims of 1 are the same shape
        for (int i = 0; ok && i < Math.max(has.length, dims.length); i++) {
            ok = (i < has.length ? has[i] : 1) == (i < dims.length ? dims[i] : 1);
        }
        if (!ok) {
            throw gguf.formatError(c.arch() + ": tensor '" + name + "' has dims " + Arrays.toString(has)
                    + ", expected " + Arrays.toString(dims));
        }
    }

    /** A small tensor (norm weights, biases) as floats. */
    private static float[] floats(Tensor t) {
        float[] out = new float[Math.toIntExact(t.elementCount())];
        t.dequantizeRows(0, t.rowCount(), out, 0);
        return out;
    }

    // ---- decoding state

    /** The KV cache and every scratch buffer of one decoding sequence, allocated once. */
    final class LlamaState implements LanguageModel.State {
        final KvCache kv;
        int pos;
        final float[] x, xb, q, k, v, att, scores, cos, sin, logits;
        final float[] hb, hb2, ffnOut;
        final float[] routerLogits, weights, shGate, shUp, shOut, one;
        final int[] ids;
        final Router router;
        final ExpertExecutor executor;
        final Prefetcher.Scratch prefetch;

        LlamaState(int capacity) {
            if (capacity < 1) {
                throw new IllegalArgumentException("context length must be >= 1, got " + capacity);
            }
            kv = new KvCache(c.layers(), capacity, c.kvHeads(), c.headDimK(), c.headDimV());
            int h = c.hidden();
            x = new float[h];
            xb = new float[h];
            q = new float[c.heads() * c.headDimK()];
            k = new float[c.kvHeads() * c.headDimK()];
            v = new float[c.kvHeads() * c.headDimV()];
            att = new float[c.heads() * c.headDimV()];
            scores = new float[Math.multiplyExact(c.heads(), capacity)];
            cos = new float[c.ropeDims() / 2];
            sin = new float[c.ropeDims() / 2];
            logits = new float[c.vocab()];
            hb = new float[c.ffn()];
            hb2 = new float[c.ffn()];
            ffnOut = new float[h];
            boolean moe = experts != null;
            routerLogits = new float[moe ? c.experts() : 0];
            router = moe ? new Router(c.routing()) : null;
            ids = new int[moe ? c.expertsUsed() : 0];
            weights = new float[moe ? c.expertsUsed() : 0];
            executor = moe ? new ExpertExecutor(experts, backend, h, expertFfn, c.expertsUsed()) : null;
            prefetch = moe ? prefetcher.newScratch() : null;
            shGate = new float[sharedFfn];
            shUp = new float[sharedFfn];
            shOut = new float[sharedFfn > 0 ? h : 0];
            one = new float[1];
        }

        final AttendTask attendTask = new AttendTask();

        LlamaModel model() {
            return LlamaModel.this;
        }

        /** The heads' attention over the pool, made once per state; the layer is set per call. */
        final class AttendTask implements WorkerPool.RangeTask {
            int layer;

            @Override
            public void run(int from, int to) {
                attend(LlamaState.this, layer, from, to);
            }
        }

        @Override
        public int position() {
            return pos;
        }

        @Override
        public int capacity() {
            return kv.capacity();
        }

        @Override
        public void reset() {
            pos = 0;   // stale cache entries past pos are never read
        }
    }
}
