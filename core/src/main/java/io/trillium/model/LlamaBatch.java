package io.trillium.model;

import io.trillium.backend.CpuBackend;
import io.trillium.backend.Ops;
import io.trillium.kv.KvCache;
import io.trillium.model.LlamaModel.Layer;

import java.util.Arrays;

/** The Llama family's batched forward pass on the CPU: prompts, and sessions decoding together. */
final class LlamaBatch {
    private LlamaBatch() {
    }

    /**
     * A batch of tokens layer by layer: {@code runs[i]} consecutive tokens of {@code states[i]} at its next
     * positions (a prompt: one state; sessions decoding together: one token each). Every projection is one
     * batched product ({@link CpuBackend#matMul}, the weights read once per batch), attention token by token in
     * order on each token's own state, the routed experts grouped so that each chosen expert is read once for
     * all of its tokens. The maths of {@code LlamaModel.step}: a warm token's logits are bit for bit its step's.
     */
    static void run(LlamaModel m, LlamaModel.LlamaState[] states, int[] runs, CpuBackend cpu, int[] tokens,
                    boolean logits) {
        ModelConfig c = m.c;
        LlamaModel.LlamaState s = states[0];   // its rope, router and expert scratch serve the whole batch
        int[] owner = new int[tokens.length];  // each token's state, and its position there
        int[] position = new int[tokens.length];
        int[] base = new int[states.length];
        for (int i = 0, t = 0; i < states.length; i++) {
            base[i] = states[i].pos;
            if ((long) base[i] + runs[i] > states[i].capacity()) {
                throw new IllegalArgumentException((base[i] + (long) runs[i]) + " tokens exceed the context of "
                        + states[i].capacity());
            }
            for (int j = 0; j < runs[i]; j++, t++) {
                owner[t] = i;
                position[t] = base[i] + j;
            }
        }
        int b = tokens.length;
        int h = c.hidden();
        int hd = c.headDimK();
        int hdv = c.headDimV();
        int heads = c.heads();
        int qDim = heads * hd;
        int kDim = c.kvHeads() * hd;
        int vDim = c.kvHeads() * hdv;
        float eps = c.rmsEps();
        float[] x = new float[b * h];
        float[] xb = new float[b * h];
        float[] q = new float[b * qDim];
        float[] k = new float[b * kDim];
        float[] v = new float[b * vDim];
        float[] att = new float[b * heads * hdv];
        float[] out = new float[b * h];
        for (int t = 0; t < b; t++) {
            m.embdRow.dequantize(m.tokenEmbd.data(), tokens[t] * m.tokenEmbd.rowBytes(), x, t * h, h);
        }
        float[][] cos = new float[b][];
        float[][] sin = new float[b][];
        for (int t = 0; t < b; t++) {
            m.rope.angles(position[t], s.cos, s.sin);
            cos[t] = s.cos.clone();
            sin[t] = s.sin.clone();
        }
        try {
            for (int l = 0; l < m.layers.length; l++) {
                Layer w = m.layers[l];
                // ---- attention
                rmsnormRows(xb, x, w.attnNorm(), b, h, eps);
                cpu.matMul(w.wq(), xb, 0, h, q, 0, qDim, b);
                cpu.matMul(w.wk(), xb, 0, h, k, 0, kDim, b);
                cpu.matMul(w.wv(), xb, 0, h, v, 0, vDim, b);
                for (int t = 0; t < b; t++) {
                    KvCache kv = states[owner[t]].kv;
                    LlamaModel.addBias(q, t * qDim, w.bq());
                    LlamaModel.addBias(k, t * kDim, w.bk());
                    LlamaModel.addBias(v, t * vDim, w.bv());
                    for (int head = 0; head < heads; head++) {
                        int o = t * qDim + head * hd;
                        if (w.qNorm() != null) {
                            Ops.rmsnorm(q, o, q, o, w.qNorm(), hd, eps);
                        }
                        m.rope.apply(q, o, cos[t], sin[t]);
                    }
                    for (int kh = 0; kh < c.kvHeads(); kh++) {
                        int o = t * kDim + kh * hd;
                        if (w.kNorm() != null) {
                            Ops.rmsnorm(k, o, k, o, w.kNorm(), hd, eps);
                        }
                        m.rope.apply(k, o, cos[t], sin[t]);
                    }
                    System.arraycopy(k, t * kDim, kv.keys(l), kv.keyOffset(position[t], 0), kDim);
                    System.arraycopy(v, t * vDim, kv.values(l), kv.valueOffset(position[t], 0), vDim);
                }
                for (int t = 0; t < b; t++) {   // causal: token t sees its state's positions up to its own
                    LlamaModel.LlamaState o = states[owner[t]];
                    System.arraycopy(q, t * qDim, o.q, 0, qDim);
                    o.pos = position[t];
                    m.attendAll(o, l);
                    System.arraycopy(o.att, 0, att, t * heads * hdv, heads * hdv);
                }
                restore(states, base);
                cpu.matMul(w.wo(), att, 0, heads * hdv, out, 0, h, b);
                for (int t = 0; t < b; t++) {
                    LlamaModel.addBias(out, t * h, w.bo());
                }
                Ops.add(x, out, b * h);

                // ---- feed-forward
                rmsnormRows(xb, x, w.ffnNorm(), b, h, eps);
                if (w.ffn() != null) {
                    int f = Math.toIntExact(w.ffn().gate().rowCount());
                    float[] g = new float[b * f];
                    float[] u = new float[b * f];
                    cpu.matMul(w.ffn().gate(), xb, 0, h, g, 0, f, b);
                    cpu.matMul(w.ffn().up(), xb, 0, h, u, 0, f, b);
                    for (int t = 0; t < b; t++) {
                        LlamaModel.addBias(g, t * f, w.bGate());
                        LlamaModel.addBias(u, t * f, w.bUp());
                    }
                    Ops.swiglu(g, u, b * f);
                    cpu.matMul(w.ffn().down(), g, 0, f, out, 0, h, b);
                    for (int t = 0; t < b; t++) {
                        LlamaModel.addBias(out, t * h, w.bDown());
                    }
                } else {
                    moe(m, s, cpu, l, w, xb, out, b);
                }
                Ops.add(x, out, b * h);
            }
        } finally {
            restore(states, base);
        }
        for (int i = 0; i < states.length; i++) {
            states[i].pos = base[i] + runs[i];
        }
        if (!logits) {
            return;
        }
        if (states.length == 1) {
            Ops.rmsnorm(s.xb, 0, x, (b - 1) * h, m.outputNorm, h, eps);
            m.backend.matVec(m.output, s.xb, s.logits);
            return;
        }
        // each state's logits from its run's last token, the output head read once for all (bit for bit each
        // token's mat-vec: the batched product's promise)
        int vocab = c.vocab();
        float[] last = new float[states.length * h];
        float[] all = new float[states.length * vocab];
        for (int i = 0, t = -1; i < states.length; i++) {
            t += runs[i];
            Ops.rmsnorm(last, i * h, x, t * h, m.outputNorm, h, eps);
        }
        cpu.matMul(m.output, last, 0, h, all, 0, vocab, states.length);
        for (int i = 0; i < states.length; i++) {
            System.arraycopy(all, i * vocab, states[i].logits, 0, vocab);
        }
    }

    private static void restore(LlamaModel.LlamaState[] states, int[] base) {
        for (int i = 0; i < states.length; i++) {
            states[i].pos = base[i];
        }
    }

    /** The routed (and shared) experts of a prefill batch into {@code out}, each chosen expert read once. */
    private static void moe(LlamaModel m, LlamaModel.LlamaState s, CpuBackend cpu, int l, Layer w, float[] xb,
                            float[] out, int b) {
        ModelConfig c = m.c;
        int sharedFfn = m.sharedFfn;
        int h = c.hidden();
        int e = c.experts();
        int used = s.router.used();
        float[] logits = new float[b * e];
        cpu.matMul(w.router(), xb, 0, h, logits, 0, e, b);
        int[] ids = new int[b * used];
        float[] weights = new float[b * used];
        for (int t = 0; t < b; t++) {
            System.arraycopy(logits, t * e, s.routerLogits, 0, e);
            s.router.route(s.routerLogits, null, s.ids, s.weights);
            // no next-layer prediction in a batch: the next layer announces all of its experts at once
            m.prefetcher.routed(s.prefetch, l, s.ids, used, s.x, false);
            System.arraycopy(s.ids, 0, ids, t * used, used);
            System.arraycopy(s.weights, 0, weights, t * used, used);
        }
        // grouped by expert, each read once for its tokens, and added in each token's routing order as step adds them
        Arrays.fill(out, 0, b * h, 0f);
        s.executor.runBatch(l, xb, b, ids, weights, used, out);
        if (w.shared() != null) {   // qwen2moe: the shared expert, scaled by sigmoid(ffn_gate_inp_shexp · x)
            float[] sg = new float[b * sharedFfn];
            float[] su = new float[b * sharedFfn];
            float[] so = new float[b * h];
            cpu.matMul(w.shared().gate(), xb, 0, h, sg, 0, sharedFfn, b);
            cpu.matMul(w.shared().up(), xb, 0, h, su, 0, sharedFfn, b);
            Ops.swiglu(sg, su, b * sharedFfn);
            cpu.matMul(w.shared().down(), sg, 0, sharedFfn, so, 0, h, b);
            float[] gate = new float[b];
            if (w.sharedGate() != null) {
                cpu.matMul(w.sharedGate(), xb, 0, h, gate, 0, 1, b);
            }
            for (int t = 0; t < b; t++) {
                float gt = w.sharedGate() != null ? (float) (1.0 / (1.0 + Math.exp(-gate[t]))) : 1f;
                Ops.axpy(out, t * h, gt, so, t * h, h);
            }
        }
    }

    /** RMSNorm of {@code b} rows of the hidden size, {@code x} into {@code out}. */
    private static void rmsnormRows(float[] out, float[] x, float[] w, int b, int h, float eps) {
        for (int t = 0; t < b; t++) {
            Ops.rmsnorm(out, t * h, x, t * h, w, h, eps);
        }
    }
}
