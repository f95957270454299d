package io.trillium.model;

import io.trillium.backend.ComputeBackend;
import io.trillium.backend.CpuBackend;
import io.trillium.backend.Device;
import io.trillium.backend.MlaHeads;
import io.trillium.backend.Ops;
import io.trillium.gguf.GgufFile;
import io.trillium.gguf.GgufFormatException;
import io.trillium.gguf.TensorSource;
import io.trillium.model.DeepseekWeights.Layer;
import io.trillium.moe.ExpertExecutor;
import io.trillium.moe.ExpertSource;
import io.trillium.moe.Prefetcher;
import io.trillium.quant.Dequantizer;
import io.trillium.quant.Kernels;
import io.trillium.quant.Tensor;
import io.trillium.tier.ExpertPlacement;
import io.trillium.tokenizer.Tokenizer;

import java.lang.foreign.Arena;
import java.util.Arrays;

/**
 * The deepseek2 architecture (DeepSeek-V2/V3, Kimi K2) as llama.cpp runs it: MLA attention in its
 * absorbed form over a latent KV cache, a leading dense SwiGLU block, then MoE blocks with a
 * sigmoid (or softmax) router, selection bias and a shared expert.
 *
 * <p>Per head the query is {@code [q_nope | q_pe]}; the cache keeps per token only the normalised
 * latent {@code c} and the rotated shared key {@code k_pe}. Scores are
 * {@code (attn_k_b[h]·q_nope)·c + q_pe·k_pe}, and the head output is {@code attn_v_b[h]·Σ p·c}.
 * Legacy files with one {@code attn_kv_b} get the same per-head k_b/v_b views at load.
 *
 * <p>A prompt runs as batches ({@link DeepseekBatch}: on the GPU, or on the CPU through a CPU device), decode
 * one token at a time ({@code step} on the host, {@code deviceStep} on a GPU). The weights as loaded are
 * {@link DeepseekWeights} ({@link DeviceWeights} on a device), a sequence is an {@link MlaState}; the routed
 * experts kept in VRAM and those streamed there for long prompts are {@link VramExperts} and
 * {@link StreamedExperts}. A state is used by one thread at a time; one forward runs at a time per model ({@link ForwardGuard}).
 */
public final class DeepseekModel implements LanguageModel {

    private final TensorSource gguf;   // a GGUF file or a checkpoint seen under GGUF names
    final ModelConfig cfg;
    private final Tokenizer tokenizer;
    final ComputeBackend backend;
    private final Arena arena;   // F32 copies made at load (legacy attn_kv_b): off-heap, freed by close()
    final Tensor embed;
    final Dequantizer embedRow;
    private final Tensor output;
    private final float[] outputNorm;
    private final DeepseekWeights weights;
    final Layer[] layers;
    private final RoutedExperts routed;
    private final ExpertSource experts;       // routed.source
    final Prefetcher prefetcher;      // routed.prefetcher
    final StreamedExperts streamedExperts;
    final Rope rope;
    final int nope;
    final int ropeDims;
    final int kvLora;
    final int vDim;
    final int sharedFfn;
    private final float kqScale;
    final MlaHeads.Shape mlaShape;
    final DeviceWeights onDevice;   // the always-active part on the backend's device, else null
    private final VramExperts vramExperts;  // the most chosen routed experts in VRAM (device step), else null
    final DeviceWeights hostPrefill; // the weights seen through a CpuDevice (batched prefill on the CPU), else null
    private final ForwardGuard guard = new ForwardGuard();
    private boolean closed;

    /** Tokens per device prefill batch (bounds the batch's device vectors). */
    static final int PREFILL_BATCH = 512;

    /**
     * Device prefill batches of at least this many tokens compute the routed experts on the device, each
     * chosen expert streamed there once for all its tokens ({@link ForwardOptions#streamExpertsFrom}); smaller
     * batches run them on the host.
     */
    final int streamExpertsFrom;

    /** Routed-expert evaluations computed from VRAM copies so far. */
    long vramExpertsComputed() {
        return vramExperts == null ? 0 : vramExperts.computed;
    }

    /** Decode tokens between re-rankings of the routed experts kept in VRAM (0: none kept there). */
    final int vramExpertsEvery;

    private DeepseekModel(TensorSource gguf, ModelConfig cfg, Tokenizer tokenizer, ComputeBackend backend, Arena arena,
                          ExpertPlacement placement, ForwardOptions options) {
        this.arena = arena;
        this.gguf = gguf;
        this.cfg = cfg;
        this.tokenizer = tokenizer;
        this.backend = backend;
        this.nope = cfg.nopeDim();
        this.ropeDims = cfg.ropeDims();
        this.kvLora = cfg.kvLoraRank();
        this.vDim = cfg.vHeadDim();
        int d = cfg.hidden();
        int heads = cfg.heads();
        if (nope <= 0 || ropeDims <= 0 || ropeDims % 2 != 0 || kvLora <= 0 || vDim <= 0) {
            throw gguf.formatError("bad MLA dims: nope " + nope + ", rope " + ropeDims + ", kv_lora " + kvLora + ", v " + vDim);
        }
        this.rope = new Rope(cfg);
        // llama.cpp: kq_scale = mscale² / sqrt(nope + rope), mscale = 1 + yarn_log_mul · ln(1 / freq_scale).
        double factor = cfg.ropeScaling().equals("none") ? 1 : cfg.ropeFactor();
        double mscale = 1 + cfg.yarnLogMultiplier() * Math.log(factor);
        this.kqScale = (float) (mscale * mscale / Math.sqrt(nope + ropeDims));
        this.mlaShape = new MlaHeads.Shape(heads, nope, ropeDims, kvLora, vDim, kqScale);

        this.weights = new DeepseekWeights(gguf, cfg, arena);
        this.embed = weights.embed;
        this.embedRow = Kernels.reference(embed.type());
        this.output = weights.output;
        this.outputNorm = weights.outputNorm;
        this.layers = weights.layers;
        this.sharedFfn = weights.sharedFfn;

        Prefetcher.Gate[] gates = new Prefetcher.Gate[layers.length];
        for (int l = 0; l < layers.length; l++) {
            Layer w = layers[l];
            gates[l] = w.router() != null ? new Prefetcher.Gate(w.ffnNorm(), w.router(), w.routerBias()) : null;
        }
        this.routed = new RoutedExperts(gguf, cfg, backend, placement, cfg.experts() > 0, weights.moe, gates);
        this.experts = routed.source;
        this.prefetcher = routed.prefetcher;
        this.streamedExperts = new StreamedExperts(cfg, experts, backend);
        this.onDevice = backend.device() != null ? DeviceWeights.upload(weights, backend.device(),
                backend.hostBackend() instanceof CpuBackend host ? host : null) : null;
        this.hostPrefill = onDevice == null && backend instanceof CpuBackend cpu
                && options.batchedPrefill()
                ? DeviceWeights.upload(weights, new io.trillium.backend.CpuDevice(cpu), null) : null;
        this.vramExperts = onDevice != null && cfg.experts() > 0 ? new VramExperts(gguf, cfg, layers, prefetcher) : null;
        if (onDevice != null) {
            routed.alwaysActiveTier = "vram";
        }
        this.vramExpertsEvery = options.vramExpertsEvery();
        this.streamExpertsFrom = options.streamThreshold(cfg.experts(), cfg.expertsUsed());
    }

    /**
     * Builds the model; it owns {@code gguf} and {@code backend} and closes them on {@link #close()}.
     *
     * @throws GgufFormatException naming the tensor and its expected dims when one is missing or mis-shaped
     */
    public static LanguageModel create(GgufFile gguf, ModelConfig cfg, Tokenizer tokenizer, ComputeBackend backend) {
        return create(gguf, cfg, tokenizer, backend, ExpertPlacement.mapped(), ForwardOptions.DEFAULT);
    }

    /**
     * As {@link #create(GgufFile, ModelConfig, Tokenizer, ComputeBackend)}, with the experts where {@code placement}
     * puts them and the forward pass as {@code options} says.
     */
    static LanguageModel create(TensorSource gguf, ModelConfig cfg, Tokenizer tokenizer, ComputeBackend backend,
                                ExpertPlacement placement, ForwardOptions options) {
        if (!cfg.isMla()) {
            throw new IllegalArgumentException("DeepseekModel runs deepseek2, not " + cfg.arch());
        }
        Arena arena = Arena.ofShared();
        try {
            return new DeepseekModel(gguf, cfg, tokenizer, backend, arena, placement, options);
        } catch (RuntimeException | Error e) {
            arena.close();
            throw e;
        }
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
        return cfg;
    }

    @Override
    public Tokenizer tokenizer() {
        return tokenizer;
    }

    @Override
    public State newState(int contextLength) {
        return new MlaState(this, contextLength, onDevice != null ? newDeviceState(contextLength) : null);
    }

    @Override
    public float[] forward(State state, int[] tokens) {
        if (!(state instanceof MlaState s) || s.model() != this) {
            throw new IllegalArgumentException("the state was not made by this model");
        }
        if (tokens.length == 0) {
            throw new IllegalArgumentException("no tokens to process");
        }
        s.checkFits(s.pos, tokens.length);
        for (int t : tokens) {
            if (t < 0 || t >= cfg.vocab()) {
                throw new IllegalArgumentException("token id " + t + " outside the vocabulary 0.." + (cfg.vocab() - 1));
            }
        }
        guard.enter();
        try {
            run(s, tokens);
        } finally {
            guard.exit();
        }
        routed.forwarded(tokens.length);
        return s.logits;
    }

    @Override
    public float[][] forwardEach(State[] states, int[] tokens) {
        LanguageModel.checkEach(states, tokens, cfg.vocab());
        MlaState[] ms = new MlaState[states.length];
        boolean host = true, device = true;
        for (int i = 0; i < states.length; i++) {
            if (!(states[i] instanceof MlaState s) || s.model() != this) {
                throw new IllegalArgumentException("state " + i + " was not made by this model");
            }
            s.checkFits(s.pos, 1);
            ms[i] = s;
            host &= s.dev == null && hostPrefill != null;
            device &= s.dev != null;
        }
        if (states.length == 1 || !(host || device)) {   // one state, or states on the host and on the device
            return LanguageModel.super.forwardEach(states, tokens);
        }
        int[] ones = new int[states.length];
        Arrays.fill(ones, 1);
        guard.enter();
        try {
            DeepseekBatch.run(this, ms, ones, device ? onDevice : hostPrefill, tokens);
        } finally {
            guard.exit();
        }
        routed.forwarded(tokens.length);
        float[][] logits = new float[states.length][];
        for (int i = 0; i < states.length; i++) {
            logits[i] = ms[i].logits;
        }
        return logits;
    }

    /** The tokens through the model: batches on a device (the GPU's or the CPU's), else token by token. */
    private void run(MlaState s, int[] tokens) {
        if (tokens.length > 1 && (s.dev != null || hostPrefill != null)) {
            DeviceWeights w = s.dev != null ? onDevice : hostPrefill;
            // on a GPU a batch may be as long as the expert-streaming threshold (up to 2048), so that a long
            // prompt does stream its experts
            int batch = s.dev != null ? Math.max(PREFILL_BATCH, Math.min(streamExpertsFrom, 2048)) : PREFILL_BATCH;
            for (int i = 0; i < tokens.length; i += batch) {
                int[] chunk = Arrays.copyOfRange(tokens, i, Math.min(tokens.length, i + batch));
                DeepseekBatch.run(this, new MlaState[] {s}, new int[] {chunk.length}, w, chunk);
            }
        } else {
            for (int t : tokens) {
                if (s.dev != null) {
                    deviceStep(s, s.dev, t);
                } else {
                    step(s, t);
                }
            }
        }
    }

    /** One token through every block at position {@code s.pos}; leaves its logits in {@code s.logits}. */
    private void step(MlaState s, int token) {
        int heads = cfg.heads();
        int width = kvLora + ropeDims;   // one cache entry
        int pos = s.pos;
        float eps = cfg.rmsEps();
        float[] x = s.x;
        float[] h = s.h;
        StepTimes times = stepTimes;
        times.start();
        embedRow.dequantize(embed.data(), token * embed.rowBytes(), x, 0, cfg.hidden());
        rope.angles(pos, s.cos, s.sin);
        times.lap(StepTimes.Op.OUTPUT);

        for (int l = 0; l < layers.length; l++) {
            Layer w = layers[l];
            // ---- attention (absorbed MLA)
            Ops.rmsnorm(h, 0, x, 0, w.attnNorm(), cfg.hidden(), eps);
            if (w.qA() != null) {
                backend.matVecPair(w.qA(), w.kvA(), h, s.qa, s.kv);   // h quantized once for q_a and kv_a; kv = [c | k_pe]
                Ops.rmsnorm(s.qa, 0, s.qa, 0, w.qANorm(), cfg.qLoraRank(), eps);
                backend.matVec(w.q(), s.qa, s.q);
            } else {
                backend.matVecPair(w.q(), w.kvA(), h, s.q, s.kv);
            }
            Ops.rmsnorm(s.kv, 0, s.kv, 0, w.kvANorm(), kvLora, eps);
            rope.apply(s.kv, kvLora, s.cos, s.sin);
            s.cache.put(l, pos, s.kv);

            times.lap(StepTimes.Op.ATTENTION_PROJECTIONS);
            // Per head an absorbed query [attn_k_b[h]·q_nope | q_pe]: one dot per cached token scores [c | k_pe];
            // the head's output is attn_v_b[h]·Σ p·c (K2: 64 x 2 small products per layer, 14 % of the bytes).
            for (int hd = 0; hd < heads; hd++) {
                rope.apply(s.q, hd * (nope + ropeDims) + nope, s.cos, s.sin);
            }
            float[] cache = s.cache.layer(l);
            if (s.heads != null) {   // the CPU: products and attention of each head in one loop over heads
                s.heads.attend(w.kB(), w.vB(), s.q, cache, 0, pos, 1, s.o, s.qAbs, s.att, s.capacity(), s.oLat, 1);
            } else {   // another host backend: one product after the other
                for (int hd = 0; hd < heads; hd++) {
                    int qo = hd * (nope + ropeDims);
                    backend.matVec(w.kB()[hd], s.q, qo, s.qAbs, hd * width);
                    System.arraycopy(s.q, qo + nope, s.qAbs, hd * width + kvLora, ropeDims);
                }
                Ops.mlaAttendHeads(s.qAbs, 0, 0, heads, cache, 0, pos + 1, width, kvLora, kqScale, s.att,
                        s.capacity(), s.oLat, 0);
                for (int hd = 0; hd < heads; hd++) {
                    backend.matVec(w.vB()[hd], s.oLat, hd * kvLora, s.o, hd * vDim);
                }
            }
            times.lap(StepTimes.Op.ATTENTION);
            backend.matVec(w.attnOut(), s.o, s.out);
            Ops.add(x, s.out, cfg.hidden());
            times.lap(StepTimes.Op.ATTENTION_PROJECTIONS);

            // ---- feed-forward: dense SwiGLU, or routed experts + shared expert
            Ops.rmsnorm(h, 0, x, 0, w.ffnNorm(), cfg.hidden(), eps);
            if (w.dense() != null) {
                ExpertExecutor.swiglu(backend, w.dense(), h, s.denseGate, s.denseUp, s.out);
                Ops.add(x, s.out, cfg.hidden());
                times.lap(StepTimes.Op.DENSE_FFN);
            } else {
                backend.matVec(w.router(), h, s.routerLogits);
                s.router.route(s.routerLogits, w.routerBias(), s.ids, s.weights);
                prefetcher.routed(s.prefetch, l, s.ids, s.router.used(), x);
                times.lap(StepTimes.Op.ROUTER);
                if (w.shared() != null && s.experts.runsShared()) {
                    // on the CPU the shared expert shares the routed experts' two parallel loops (timed with
                    // them); it is added after them, so the sums are those of the serial order
                    s.experts.run(l, h, s.ids, s.weights, s.router.used(), x, w.shared(), s.out);
                    Ops.add(x, s.out, cfg.hidden());
                    times.lap(StepTimes.Op.ROUTED_EXPERTS);
                    continue;
                }
                // The shared expert starts first (a GPU backend runs it while the host runs the routed
                // experts); it is added after them, so the sums are those of the serial order.
                ComputeBackend.Pending shared = w.shared() == null ? null : backend.startSwiglu(w.shared().gate(),
                        w.shared().up(), w.shared().down(), h, s.shGate, s.shUp, s.out);
                times.lap(StepTimes.Op.SHARED_EXPERT);
                try {
                    s.experts.run(l, h, s.ids, s.weights, s.router.used(), x);
                } finally {
                    if (shared != null) {
                        shared.await();   // also when the experts failed: the backend's stream stays usable
                    }
                }
                if (shared != null) {
                    Ops.add(x, s.out, cfg.hidden());
                }
                times.lap(StepTimes.Op.ROUTED_EXPERTS);
            }
        }
        Ops.rmsnorm(h, 0, x, 0, outputNorm, cfg.hidden(), eps);
        backend.matVec(output, h, s.logits);
        times.lap(StepTimes.Op.OUTPUT);
        s.pos++;
    }

    private final StepTimes stepTimes = new StepTimes();
    final StepTimes prefillTimes = new StepTimes();

    @Override
    public StepTimes stepTimes() {
        return stepTimes;
    }

    @Override
    public StepTimes prefillTimes() {
        return hostPrefill != null ? prefillTimes : null;
    }

    /**
     * {@link #step} with the always-active part on the device: per MoE layer only the normalised hidden
     * state and the router logits come to the host, which routes, runs the chosen experts (while the device
     * runs the shared expert, queued before) and sends their weighted sum back.
     */
    private void deviceStep(MlaState s, DeviceState g, int token) {
        Device d = g.d;
        DeviceWeights dw = onDevice;
        int heads = cfg.heads();
        int qHead = nope + ropeDims;
        int width = kvLora + ropeDims;
        int hidden = cfg.hidden();
        int pos = s.pos;
        int cap = s.capacity();
        float eps = cfg.rmsEps();
        embedRow.dequantize(embed.data(), token * embed.rowBytes(), s.x, 0, hidden);
        d.upload(s.x, 0, g.x, 0, hidden);
        rope.angles(pos, s.cos, s.sin);
        System.arraycopy(s.cos, 0, g.csHost, 0, ropeDims / 2);
        System.arraycopy(s.sin, 0, g.csHost, ropeDims / 2, ropeDims / 2);
        d.upload(g.csHost, 0, g.cs, 0, ropeDims);
        boolean needX = prefetcher != null && prefetcher.predicts();
        if (vramExperts != null && vramExpertsEvery > 0 && ++vramExperts.tokens % vramExpertsEvery == 0) {
            vramExperts.rebalance(d);
        }

        for (int l = 0; l < layers.length; l++) {
            Layer w = layers[l];
            DeviceWeights.Layer dl = dw.layers()[l];
            d.rmsnorm(g.h, 0, g.x, 0, dl.attnNorm(), hidden, eps);
            if (dl.qA() != null) {
                d.matVec(dl.qA(), g.h, g.qa);
                d.rmsnorm(g.qa, 0, g.qa, 0, dl.qANorm(), cfg.qLoraRank(), eps);
                d.matVec(dl.q(), g.qa, g.q);
            } else {
                d.matVec(dl.q(), g.h, g.q);
            }
            d.matVec(dl.kvA(), g.h, g.kv);
            d.rmsnorm(g.kv, 0, g.kv, 0, dl.kvANorm(), kvLora, eps);
            d.rope(g.kv, 1, width, kvLora, g.cs, 0, ropeDims, rope.neox());
            Device.Vec cache = g.cache(l);
            d.copy(g.kv, 0, 0, cache, pos * width, 0, width, 1);
            d.rope(g.q, heads, qHead, nope, g.cs, 0, ropeDims, rope.neox());
            d.mlaHeads(dl.kB(), w.kBAll().headBytes(), dl.vB(), w.vBAll().headBytes(), mlaShape, g.q, cache, pos, 1, g.o,
                    g.qAbs, g.att, cap, g.oLat);
            d.matVec(dl.attnOut(), g.o, g.out);
            d.add(g.x, g.out, hidden);

            d.rmsnorm(g.h, 0, g.x, 0, dl.ffnNorm(), hidden, eps);
            if (dl.dense() != null) {
                swiglu(d, dl.dense(), g, g.out);
                d.add(g.x, g.out, hidden);
                continue;
            }
            d.matVec(dl.router(), g.h, g.routerLogits);
            d.download(g.routerLogits, 0, s.routerLogits, 0, cfg.experts());
            d.download(g.h, 0, s.h, 0, hidden);
            if (needX) {
                d.download(g.x, 0, s.x, 0, hidden);
            }
            s.router.route(s.routerLogits, w.routerBias(), s.ids, s.weights);
            prefetcher.routed(s.prefetch, l, s.ids, s.router.used(), s.x);
            if (dl.shared() != null) {
                swiglu(d, dl.shared(), g, g.out);   // queued: the device runs it while the host runs the experts
            }
            // experts held in VRAM are queued on the device too; the host runs the others meanwhile
            int hostK = 0;
            for (int k = 0; k < s.router.used(); k++) {
                Device.Mat[] m = vramExperts == null ? null : vramExperts.get(l, s.ids[k]);
                if (m == null) {
                    s.hostIds[hostK] = s.ids[k];
                    s.hostWeights[hostK++] = s.weights[k];
                    continue;
                }
                int f = Math.toIntExact(m[0].tensor().rowCount());
                d.matVec(m[0], g.h, g.expGate);
                d.matVec(m[1], g.h, g.expUp);
                d.swiglu(g.expGate, g.expUp, f);
                d.matVec(m[2], g.expGate, g.expOut);
                d.axpy(g.x, s.weights[k], g.expOut, hidden);
                vramExperts.computed++;
                routed.vramExpertBytes.addAndGet(m[0].tensor().data().byteSize() + m[1].tensor().data().byteSize()
                        + m[2].tensor().data().byteSize());
            }
            Arrays.fill(s.out, 0f);
            s.experts.run(l, s.h, s.hostIds, s.hostWeights, hostK, s.out);
            d.upload(s.out, 0, g.experts, 0, hidden);
            d.add(g.x, g.experts, hidden);
            if (dl.shared() != null) {
                d.add(g.x, g.out, hidden);
            }
        }
        d.rmsnorm(g.h, 0, g.x, 0, dw.outputNorm(), hidden, eps);
        d.matVec(dw.output(), g.h, g.logits);
        d.download(g.logits, 0, s.logits, 0, cfg.vocab());
        s.pos++;
    }

    /**
     * A state's device vectors and cache; when VRAM is short the routed experts kept there make room
     * first, and when it is still short the state runs the host step (null), with the reason logged.
     */
    private DeviceState newDeviceState(int capacity) {
        try {
            return new DeviceState(onDevice.device(), cfg, sharedFfn, capacity, null);
        } catch (RuntimeException e) {
            if (vramExperts != null && !vramExperts.resident.isEmpty()) {
                vramExperts.evictAll(onDevice.device());
                try {
                    return new DeviceState(onDevice.device(), cfg, sharedFfn, capacity, null);
                } catch (RuntimeException again) {
                    e = again;
                }
            }
            System.getLogger(DeepseekModel.class.getName()).log(System.Logger.Level.WARNING,
                    "a state of {0} tokens runs on the host: {1}", capacity, e.getMessage());
            return null;
        }
    }

    /** {@code out = down(silu(gate·h) ⊙ up·h)} on the device, h = {@code g.h}. */
    private static void swiglu(Device d, Device.Mat[] ffn, DeviceState g, Device.Vec out) {
        int f = Math.toIntExact(ffn[0].tensor().rowCount());
        d.matVec(ffn[0], g.h, g.ffnGate);
        d.matVec(ffn[1], g.h, g.ffnUp);
        d.swiglu(g.ffnGate, g.ffnUp, f);
        d.matVec(ffn[2], g.ffnGate, out);
    }

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        arena.close();
        routed.close();
        gguf.close();
        backend.close();
    }

}
