package io.trillium.model;

import io.trillium.backend.Device;
import io.trillium.model.DeepseekWeights.Layer;

import java.util.Arrays;

/**
 * deepseek2's batched forward pass on a {@link Device} (the GPU's, or the CPU's for prompts and for sessions
 * decoding together): the pass {@link DeepseekModel} runs for more than one token at a time.
 */
final class DeepseekBatch {
    private DeepseekBatch() {
    }

    /**
     * A batch of tokens through every layer on the device, layer by layer: {@code runs[i]} consecutive tokens of
     * {@code states[i]} at its next positions (a prompt: one state; sessions decoding together: one token each).
     * Every projection is one batched product (each weight read once per batch), attention runs per state on its
     * own cache (causal, in order), each state gets the logits of its run's last token,
     * and per MoE layer the batch's hidden states and router logits come to the host once. The routed
     * experts run on the host, or, for batches of at least {@code streamExpertsFrom} tokens ({@link ForwardOptions}), on the
     * device: each chosen expert is streamed there once and applied to all of its tokens.
     */
    static void run(DeepseekModel m, MlaState[] states, int[] runs, DeviceWeights dw, int[] tokens) {
        ModelConfig cfg = m.cfg;
        Rope rope = m.rope;
        int nope = m.nope, ropeDims = m.ropeDims, kvLora = m.kvLora, vDim = m.vDim;
        boolean onHost = dw == m.hostPrefill;
        MlaState s = states[0];   // its router, expert executor and rope scratch serve the whole batch
        DeviceState[] gs = new DeviceState[states.length];
        int[] owner = new int[tokens.length];   // the state of each token, and its position there
        int[] position = new int[tokens.length];
        for (int i = 0, t = 0; i < states.length; i++) {
            gs[i] = onHost ? states[i].hostPrefill() : states[i].dev;
            states[i].checkFits(states[i].pos, runs[i]);
            for (int j = 0; j < runs[i]; j++, t++) {
                owner[t] = i;
                position[t] = states[i].pos + j;
            }
        }
        Device d = dw.device();
        int b = tokens.length;
        int hidden = cfg.hidden();
        int heads = cfg.heads();
        int qHead = nope + ropeDims;
        int qDim = heads * qHead;
        int width = kvLora + ropeDims;
        int qLora = cfg.qLoraRank();
        float eps = cfg.rmsEps();
        java.util.List<Device.Vec> tmp = new java.util.ArrayList<>();
        java.util.function.IntFunction<Device.Vec> v = n -> {
            Device.Vec r = d.vector("prefill", n);
            tmp.add(r);
            return r;
        };
        // the CPU device's operations are synchronous, so laps between them measure them (a GPU's are not)
        StepTimes times = onHost && states.length == 1 ? m.prefillTimes : StepTimes.OFF;
        times.start();
        try {
            int ffn = Math.max(1, Math.max(cfg.ffn(), m.sharedFfn));
            Device.Vec x = v.apply(b * hidden);
            Device.Vec h = v.apply(b * hidden);
            Device.Vec qa = qLora > 0 ? v.apply(b * qLora) : null;
            Device.Vec q = v.apply(b * qDim);
            Device.Vec kv = v.apply(b * width);
            Device.Vec o = v.apply(b * heads * vDim);
            Device.Vec out = v.apply(b * hidden);
            Device.Vec cs = v.apply(b * ropeDims);
            Device.Vec f1 = v.apply(b * ffn);
            Device.Vec f2 = v.apply(b * ffn);
            Device.Vec routerLogits = cfg.experts() > 0 ? v.apply(b * cfg.experts()) : null;
            Device.Vec experts = v.apply(b * hidden);
            float[] hostX = new float[b * hidden];
            for (int t = 0; t < b; t++) {
                m.embedRow.dequantize(m.embed.data(), tokens[t] * m.embed.rowBytes(), hostX, t * hidden, hidden);
            }
            d.upload(hostX, 0, x, 0, b * hidden);
            float[] hostCs = new float[b * ropeDims];
            for (int t = 0; t < b; t++) {
                rope.angles(position[t], s.cos, s.sin);
                System.arraycopy(s.cos, 0, hostCs, t * ropeDims, ropeDims / 2);
                System.arraycopy(s.sin, 0, hostCs, t * ropeDims + ropeDims / 2, ropeDims / 2);
            }
            d.upload(hostCs, 0, cs, 0, b * ropeDims);
            float[] hostH = new float[b * hidden];
            float[] hostE = new float[b * hidden];
            float[] hostLogits = new float[Math.max(1, b * cfg.experts())];
            Device.Vec[] streamed = null;
            // a run of several states: each run's queries and outputs pass through these (attention reads a
            // run's tokens from offset 0)
            int longest = Arrays.stream(runs).max().orElse(0);
            Device.Vec qRun = states.length > 1 ? v.apply(longest * qDim) : q;
            Device.Vec oRun = states.length > 1 ? v.apply(longest * heads * vDim) : o;
            times.lap(StepTimes.Op.OUTPUT);

            for (int l = 0; l < m.layers.length; l++) {
                Layer w = m.layers[l];
                DeviceWeights.Layer dl = dw.layers()[l];
                d.rmsnorm(h, x, dl.attnNorm(), hidden, b, hidden, eps);
                if (dl.qA() != null) {
                    d.matMul(dl.qA(), h, 0, hidden, qa, 0, qLora, b);
                    d.rmsnorm(qa, qa, dl.qANorm(), qLora, b, qLora, eps);
                    d.matMul(dl.q(), qa, 0, qLora, q, 0, qDim, b);
                } else {
                    d.matMul(dl.q(), h, 0, hidden, q, 0, qDim, b);
                }
                d.matMul(dl.kvA(), h, 0, hidden, kv, 0, width, b);
                d.rmsnorm(kv, kv, dl.kvANorm(), kvLora, b, width, eps);
                for (int t = 0; t < b; t++) {
                    d.rope(kv, 1, width, t * width + kvLora, cs, t * ropeDims, ropeDims, rope.neox());
                    d.rope(q, heads, qHead, t * qDim + nope, cs, t * ropeDims, ropeDims, rope.neox());
                }
                times.lap(StepTimes.Op.ATTENTION_PROJECTIONS);
                for (int i = 0, t0 = 0; i < states.length; t0 += runs[i], i++) {   // each run on its own cache
                    DeviceState g = gs[i];
                    int n = runs[i];
                    d.copy(kv, t0 * width, width, g.cache(l), states[i].pos * width, width, width, n);
                    if (qRun != q) {
                        d.copy(q, t0 * qDim, qDim, qRun, 0, qDim, qDim, n);
                    }
                    d.mlaHeads(dl.kB(), w.kBAll().headBytes(), dl.vB(), w.vBAll().headBytes(), m.mlaShape, qRun,
                            g.cache(l), states[i].pos, n, oRun, g.qAbs, g.att, states[i].capacity(), g.oLat);
                    if (oRun != o) {
                        d.copy(oRun, 0, heads * vDim, o, t0 * heads * vDim, heads * vDim, heads * vDim, n);
                    }
                }
                times.lap(StepTimes.Op.ATTENTION);
                d.matMul(dl.attnOut(), o, 0, heads * vDim, out, 0, hidden, b);
                d.add(x, out, b * hidden);

                d.rmsnorm(h, x, dl.ffnNorm(), hidden, b, hidden, eps);
                times.lap(StepTimes.Op.ATTENTION_PROJECTIONS);
                if (dl.dense() != null) {
                    swiglu(d, dl.dense(), h, f1, f2, out, b);
                    d.add(x, out, b * hidden);
                    times.lap(StepTimes.Op.DENSE_FFN);
                    continue;
                }
                int e = cfg.experts();
                d.matMul(dl.router(), h, 0, hidden, routerLogits, 0, e, b);
                d.download(routerLogits, 0, hostLogits, 0, b * e);
                d.download(h, 0, hostH, 0, b * hidden);
                int used = s.router.used();
                int[] ids = new int[b * used];
                float[] weights = new float[b * used];
                for (int t = 0; t < b; t++) {
                    System.arraycopy(hostLogits, t * e, s.routerLogits, 0, e);
                    s.router.route(s.routerLogits, w.routerBias(), s.ids, s.weights);
                    System.arraycopy(s.ids, 0, ids, t * used, used);
                    System.arraycopy(s.weights, 0, weights, t * used, used);
                    // no next-layer prediction in a batch: the next layer announces all of its experts at once
                    m.prefetcher.routed(states[owner[t]].prefetch, l, s.ids, used, s.x, false);
                }
                times.lap(StepTimes.Op.ROUTER);
                if (dl.shared() != null) {
                    swiglu(d, dl.shared(), h, f1, f2, out, b);   // queued: runs while the experts are computed
                    times.lap(StepTimes.Op.SHARED_EXPERT);
                }
                if (onHost) {
                    // on the CPU: experts grouped by expert, each whole on one worker, added to x in each
                    // token's routing order and before the shared expert, as the token-by-token step adds them
                    d.download(x, 0, hostX, 0, b * hidden);
                    s.experts.runBatch(l, hostH, b, ids, weights, used, hostX);
                    d.upload(hostX, 0, x, 0, b * hidden);
                    if (dl.shared() != null) {
                        d.add(x, out, b * hidden);
                    }
                    times.lap(StepTimes.Op.ROUTED_EXPERTS);
                    continue;
                }
                Arrays.fill(hostE, 0f);
                if (b >= m.streamExpertsFrom) {
                    if (streamed == null) {   // an expert takes at most every token of the batch
                        streamed = new Device.Vec[] {v.apply(b * hidden), v.apply(b * cfg.expertFfn()),
                                v.apply(b * cfg.expertFfn()), v.apply(b * hidden)};
                    }
                    m.streamedExperts.run(d, l, b, ids, weights, used, hostH, hostE, streamed);
                } else {
                    for (int t = 0; t < b; t++) {
                        System.arraycopy(hostH, t * hidden, s.h, 0, hidden);
                        Arrays.fill(s.out, 0f);
                        s.experts.run(l, s.h, Arrays.copyOfRange(ids, t * used, (t + 1) * used),
                                Arrays.copyOfRange(weights, t * used, (t + 1) * used), used, s.out);
                        System.arraycopy(s.out, 0, hostE, t * hidden, hidden);
                    }
                }
                d.upload(hostE, 0, experts, 0, b * hidden);
                d.add(x, experts, b * hidden);
                if (dl.shared() != null) {
                    d.add(x, out, b * hidden);
                }
            }
            int vocab = cfg.vocab();
            if (states.length == 1) {
                DeviceState g = gs[0];
                d.rmsnorm(g.h, 0, x, (b - 1) * hidden, dw.outputNorm(), hidden, eps);
                d.matVec(dw.output(), g.h, g.logits);
                d.download(g.logits, 0, s.logits, 0, vocab);
            } else {   // each state's logits from its run's last token, the output head read once for all
                Device.Vec lastH = v.apply(states.length * hidden);
                Device.Vec logits = v.apply(states.length * vocab);
                for (int i = 0, last = -1; i < states.length; i++) {
                    last += runs[i];
                    d.rmsnorm(lastH, i * hidden, x, last * hidden, dw.outputNorm(), hidden, eps);
                }
                d.matMul(dw.output(), lastH, 0, hidden, logits, 0, vocab, states.length);
                for (int i = 0; i < states.length; i++) {
                    d.download(logits, i * vocab, states[i].logits, 0, vocab);
                }
            }
            for (int i = 0; i < states.length; i++) {
                states[i].pos += runs[i];
            }
            times.lap(StepTimes.Op.OUTPUT);
        } finally {
            tmp.forEach(d::release);
        }
    }

    /** {@code out = down(silu(gate·h) ⊙ up·h)} for {@code b} tokens on the device ({@code f1}, {@code f2}: scratch). */
    private static void swiglu(Device d, Device.Mat[] ffn, Device.Vec h, Device.Vec f1, Device.Vec f2, Device.Vec out,
                               int b) {
        int f = Math.toIntExact(ffn[0].tensor().rowCount());
        int hidden = Math.toIntExact(ffn[0].tensor().rowLength());
        d.matMul(ffn[0], h, 0, hidden, f1, 0, f, b);
        d.matMul(ffn[1], h, 0, hidden, f2, 0, f, b);
        d.swiglu(f1, f2, b * f);
        d.matMul(ffn[2], f1, 0, f, out, 0, hidden, b);
    }
}
