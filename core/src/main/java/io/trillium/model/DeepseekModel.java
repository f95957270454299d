package io.trillium.model;

import io.trillium.backend.ComputeBackend;
import io.trillium.backend.CpuBackend;
import io.trillium.backend.Device;
import io.trillium.backend.MlaHeads;
import io.trillium.gguf.GgufFile;
import io.trillium.gguf.TensorSource;
import io.trillium.gguf.GgufFormatException;
import io.trillium.kv.LatentKvCache;
import io.trillium.moe.ExpertExecutor;
import io.trillium.moe.ExpertWeights;
import io.trillium.moe.ExpertSource;
import io.trillium.moe.ExpertStats;
import io.trillium.tier.ExpertPlacement;
import io.trillium.moe.Prefetcher;
import io.trillium.moe.Router;
import io.trillium.quant.Dequantizer;
import io.trillium.quant.GgmlType;
import io.trillium.quant.Kernels;
import io.trillium.quant.Tensor;
import io.trillium.tokenizer.Tokenizer;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
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
 * <p>Tokens are processed one at a time (prefill included). A state is used by one thread at a time,
 * and one forward runs at a time per backend.
 */
public final class DeepseekModel implements LanguageModel {

    /** The weights of one block. Norm vectors are copied out (small); matrices are views of the file. */
    private record Layer(float[] attnNorm, Tensor qA, float[] qANorm, Tensor q, Tensor kvA, float[] kvANorm,
                         Tensor[] kB, Tensor[] vB, HeadStack kBAll, HeadStack vBAll, Tensor attnOut, float[] ffnNorm,
                         ExpertWeights dense, Tensor router, float[] routerBias, ExpertWeights shared) {
    }

    /** All heads' k_b (or v_b) matrices in one tensor, head {@code h} starting {@code h · headBytes} bytes in. */
    private record HeadStack(Tensor all, long headBytes) {
    }

    private final TensorSource gguf;   // a GGUF file or a checkpoint seen under GGUF names
    private final ModelConfig cfg;
    private final Tokenizer tokenizer;
    private final ComputeBackend backend;
    private final Arena arena;   // F32 copies made at load (legacy attn_kv_b): off-heap, freed by close()
    private final Tensor embed;
    private final Dequantizer embedRow;
    private final Tensor output;
    private final float[] outputNorm;
    private final Layer[] layers;
    private final RoutedExperts routed;
    private final ExpertSource experts;       // routed.source
    private final Prefetcher prefetcher;      // routed.prefetcher
    private final Rope rope;
    private final int nope;
    private final int ropeDims;
    private final int kvLora;
    private final int vDim;
    private final int sharedFfn;
    private final float kqScale;
    private final MlaHeads.Shape mlaShape;
    private final DeviceWeights onDevice;   // the always-active part on the backend's device, else null
    private final VramExperts vramExperts;  // the most chosen routed experts in VRAM (device step), else null
    private final DeviceWeights hostPrefill; // the weights seen through a CpuDevice (batched prefill on the CPU), else null
    private boolean closed;

    /** Tokens per device prefill batch (bounds the batch's device vectors). */
    static final int PREFILL_BATCH = 512;

    /**
     * Device prefill batches of at least this many tokens compute the routed experts on the device, each
     * chosen expert streamed there once for all its tokens (ktransformers' rule of thumb: experts / used
     * × 32, where the transfer costs less than the CPU's work); smaller batches run them on the host.
     */
    int streamExpertsFrom;

    /** Routed-expert evaluations computed from VRAM copies so far. */
    long vramExpertsComputed() {
        return vramExperts == null ? 0 : vramExperts.computed;
    }

    /** Decode tokens between re-rankings of the routed experts kept in VRAM (0: none kept there). */
    int vramExpertsEvery;

    /** System property overriding {@link #vramExpertsEvery} (read when a model is built). */
    public static final String VRAM_EXPERTS_PROPERTY = "trillium.gpu.vramExpertsEvery";

    /**
     * System property: "false" runs a prompt on the CPU token by token instead of as batches (read when a
     * model is built; for comparing the two).
     */
    public static final String BATCHED_PREFILL_PROPERTY = "trillium.prefill.batched";

    /** System property overriding {@link #streamExpertsFrom} (read when a model is built). */
    public static final String STREAM_EXPERTS_PROPERTY = "trillium.gpu.streamExpertsFrom";

    private DeepseekModel(TensorSource gguf, ModelConfig cfg, Tokenizer tokenizer, ComputeBackend backend, Arena arena,
                          ExpertPlacement placement) {
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
            throw error("bad MLA dims: nope " + nope + ", rope " + ropeDims + ", kv_lora " + kvLora + ", v " + vDim);
        }
        this.rope = new Rope(cfg);
        // llama.cpp: kq_scale = mscale² / sqrt(nope + rope), mscale = 1 + yarn_log_mul · ln(1 / freq_scale).
        double factor = cfg.ropeScaling().equals("none") ? 1 : cfg.ropeFactor();
        double mscale = 1 + cfg.yarnLogMultiplier() * Math.log(factor);
        this.kqScale = (float) (mscale * mscale / Math.sqrt(nope + ropeDims));
        this.mlaShape = new MlaHeads.Shape(heads, nope, ropeDims, kvLora, vDim, kqScale);

        this.embed = tensor("token_embd.weight", d, cfg.vocab());
        this.embedRow = Kernels.reference(embed.type());
        this.output = gguf.hasTensor("output.weight") ? tensor("output.weight", d, cfg.vocab()) : embed;
        this.outputNorm = vector("output_norm.weight", d);

        layers = new Layer[cfg.layers()];
        boolean[] moe = new boolean[cfg.layers()];
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
        Prefetcher.Gate[] gates = new Prefetcher.Gate[layers.length];
        for (int l = 0; l < layers.length; l++) {
            Layer w = layers[l];
            gates[l] = w.router != null ? new Prefetcher.Gate(w.ffnNorm, w.router, w.routerBias) : null;
        }
        this.routed = new RoutedExperts(gguf, cfg, backend, placement, cfg.experts() > 0, moe, gates);
        this.experts = routed.source;
        this.prefetcher = routed.prefetcher;
        this.onDevice = backend.device() != null ? DeviceWeights.upload(this, backend.device()) : null;
        this.hostPrefill = onDevice == null && backend instanceof CpuBackend cpu
                && Boolean.parseBoolean(System.getProperty(BATCHED_PREFILL_PROPERTY, "true"))
                ? DeviceWeights.upload(this, new io.trillium.backend.CpuDevice(cpu)) : null;
        this.vramExperts = onDevice != null && cfg.experts() > 0 ? new VramExperts() : null;
        if (onDevice != null) {
            routed.alwaysActiveTier = "vram";
        }
        this.vramExpertsEvery = Integer.getInteger(VRAM_EXPERTS_PROPERTY, 64);
        this.streamExpertsFrom = cfg.experts() > 0 ? Integer.getInteger(STREAM_EXPERTS_PROPERTY,
                Math.max(1, cfg.experts() / Math.max(1, cfg.expertsUsed()) * 32)) : Integer.MAX_VALUE;
    }

    /**
     * Builds the model; it owns {@code gguf} and {@code backend} and closes them on {@link #close()}.
     *
     * @throws GgufFormatException naming the tensor and its expected dims when one is missing or mis-shaped
     */
    public static LanguageModel create(GgufFile gguf, ModelConfig cfg, Tokenizer tokenizer, ComputeBackend backend) {
        return create(gguf, cfg, tokenizer, backend, ExpertPlacement.mapped());
    }

    /** As {@link #create(GgufFile, ModelConfig, Tokenizer, ComputeBackend)}, with the experts where {@code placement} puts them. */
    static LanguageModel create(TensorSource gguf, ModelConfig cfg, Tokenizer tokenizer, ComputeBackend backend,
                                ExpertPlacement placement) {
        if (!cfg.isMla()) {
            throw new IllegalArgumentException("DeepseekModel runs deepseek2, not " + cfg.arch());
        }
        Arena arena = Arena.ofShared();
        try {
            return new DeepseekModel(gguf, cfg, tokenizer, backend, arena, placement);
        } catch (RuntimeException | Error e) {
            arena.close();
            throw e;
        }
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
    private Tensor tensor(String name, long... dims) {
        checkDims(name, dims);
        Tensor t = gguf.tensor(name);
        if (!Kernels.isSupported(t)) {
            throw error("tensor " + name + " has type " + t.type() + ", which Trillium cannot compute on");
        }
        return t;
    }

    /** Tensor {@code name} must exist with exactly {@code dims} (trailing 1s aside). */
    private void checkDims(String name, long... dims) {
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
    private float[] vector(String name, int n) {
        float[] v = new float[n];
        tensor(name, n).dequantizeRows(0, 1, v, 0);
        return v;
    }

    private GgufFormatException error(String message) {
        return new GgufFormatException(gguf.files().getFirst(), -1, message);
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
        return new MlaState(contextLength);
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
        if (tokens.length > 1 && (s.dev != null || hostPrefill != null)) {
            DeviceState g = s.dev != null ? s.dev : s.hostPrefill();
            DeviceWeights w = s.dev != null ? onDevice : hostPrefill;
            // on a GPU a batch may be as long as the expert-streaming threshold (up to 2048), so that a long
            // prompt does stream its experts
            int batch = s.dev != null ? Math.max(PREFILL_BATCH, Math.min(streamExpertsFrom, 2048)) : PREFILL_BATCH;
            for (int i = 0; i < tokens.length; i += batch) {
                devicePrefill(s, g, w, Arrays.copyOfRange(tokens, i, Math.min(tokens.length, i + batch)));
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
        routed.forwarded(tokens.length);
        return s.logits;
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
            Ops.rmsnorm(h, 0, x, 0, w.attnNorm, cfg.hidden(), eps);
            if (w.qA != null) {
                backend.matVecPair(w.qA, w.kvA, h, s.qa, s.kv);   // h quantized once for q_a and kv_a; kv = [c | k_pe]
                Ops.rmsnorm(s.qa, 0, s.qa, 0, w.qANorm, cfg.qLoraRank(), eps);
                backend.matVec(w.q, s.qa, s.q);
            } else {
                backend.matVecPair(w.q, w.kvA, h, s.q, s.kv);
            }
            Ops.rmsnorm(s.kv, 0, s.kv, 0, w.kvANorm, kvLora, eps);
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
                s.heads.attend(w.kB, w.vB, s.q, cache, 0, pos, 1, s.o, s.qAbs, s.att, s.capacity(), s.oLat, 1);
            } else {   // another host backend: one product after the other
                for (int hd = 0; hd < heads; hd++) {
                    int qo = hd * (nope + ropeDims);
                    backend.matVec(w.kB[hd], s.q, qo, s.qAbs, hd * width);
                    System.arraycopy(s.q, qo + nope, s.qAbs, hd * width + kvLora, ropeDims);
                }
                Ops.mlaAttendHeads(s.qAbs, 0, 0, heads, cache, 0, pos + 1, width, kvLora, kqScale, s.att,
                        s.capacity(), s.oLat, 0);
                for (int hd = 0; hd < heads; hd++) {
                    backend.matVec(w.vB[hd], s.oLat, hd * kvLora, s.o, hd * vDim);
                }
            }
            times.lap(StepTimes.Op.ATTENTION);
            backend.matVec(w.attnOut, s.o, s.out);
            Ops.add(x, s.out, cfg.hidden());
            times.lap(StepTimes.Op.ATTENTION_PROJECTIONS);

            // ---- feed-forward: dense SwiGLU, or routed experts + shared expert
            Ops.rmsnorm(h, 0, x, 0, w.ffnNorm, cfg.hidden(), eps);
            if (w.dense != null) {
                ExpertExecutor.swiglu(backend, w.dense, h, s.denseGate, s.denseUp, s.out);
                Ops.add(x, s.out, cfg.hidden());
                times.lap(StepTimes.Op.DENSE_FFN);
            } else {
                backend.matVec(w.router, h, s.routerLogits);
                s.router.route(s.routerLogits, w.routerBias, s.ids, s.weights);
                prefetcher.routed(s.prefetch, l, s.ids, s.router.used(), x);
                times.lap(StepTimes.Op.ROUTER);
                if (w.shared != null && s.experts.runsShared()) {
                    // on the CPU the shared expert shares the routed experts' two parallel loops (timed with
                    // them); it is added after them, so the sums are those of the serial order
                    s.experts.run(l, h, s.ids, s.weights, s.router.used(), x, w.shared, s.out);
                    Ops.add(x, s.out, cfg.hidden());
                    times.lap(StepTimes.Op.ROUTED_EXPERTS);
                    continue;
                }
                // The shared expert starts first (a GPU backend runs it while the host runs the routed
                // experts); it is added after them, so the sums are those of the serial order.
                ComputeBackend.Pending shared = w.shared == null ? null : backend.startSwiglu(w.shared.gate(),
                        w.shared.up(), w.shared.down(), h, s.shGate, s.shUp, s.out);
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
    private final StepTimes prefillTimes = new StepTimes();

    @Override
    public StepTimes stepTimes() {
        return stepTimes;
    }

    @Override
    public StepTimes prefillTimes() {
        return hostPrefill != null ? prefillTimes : null;
    }

    /**
     * The always-active weights on the backend's {@link Device}: every matrix the step uses and the norm
     * vectors. Null (the host step then runs, with the backend's per-matrix offload) when one matrix has no
     * device kernel or no room; the reason is logged.
     */
    private record DeviceWeights(Device device, DeviceLayer[] layers, Device.Vec outputNorm, Device.Mat output) {
        static DeviceWeights upload(DeepseekModel m, Device device) {
            java.util.List<Device.Vec> vectors = new java.util.ArrayList<>();
            try {
                DeviceLayer[] ls = new DeviceLayer[m.layers.length];
                for (int l = 0; l < ls.length; l++) {
                    Layer w = m.layers[l];
                    ls[l] = new DeviceLayer(vec(device, w.attnNorm, vectors), w.qA == null ? null : mat(device, w.qA),
                            w.qANorm == null ? null : vec(device, w.qANorm, vectors), mat(device, w.q),
                            mat(device, w.kvA), vec(device, w.kvANorm, vectors), mat(device, w.kBAll.all()),
                            mat(device, w.vBAll.all()), mat(device, w.attnOut), vec(device, w.ffnNorm, vectors),
                            w.dense == null ? null : mats(device, w.dense),
                            w.router == null ? null : mat(device, w.router),
                            w.shared == null ? null : mats(device, w.shared));
                }
                return new DeviceWeights(device, ls, vec(device, m.outputNorm, vectors), mat(device, m.output));
            } catch (NotOnDevice e) {
                vectors.forEach(device::release);
                System.getLogger(DeepseekModel.class.getName()).log(System.Logger.Level.INFO,
                        "decode step on the host (matrices offloaded one by one): {0} has {1}", e.getMessage(),
                        "no kernel or no room on " + device.name());
                return null;
            } catch (RuntimeException e) {   // the device refused a vector (memory, driver): the host step
                vectors.forEach(device::release);
                System.getLogger(DeepseekModel.class.getName()).log(System.Logger.Level.WARNING,
                        "decode step on the host (matrices offloaded one by one): " + device.name() + " failed", e);
                return null;
            }
        }

        private static Device.Mat mat(Device d, Tensor t) {
            Device.Mat m = d.matrix(t);
            if (m == null) {
                throw new NotOnDevice(t.name() + " (" + t.type() + ")");
            }
            return m;
        }

        private static Device.Mat[] mats(Device d, ExpertWeights e) {
            return new Device.Mat[] {mat(d, e.gate()), mat(d, e.up()), mat(d, e.down())};
        }

        private static Device.Vec vec(Device d, float[] v, java.util.List<Device.Vec> all) {
            Device.Vec dv = d.vector("weights", v.length);
            all.add(dv);
            d.upload(v, 0, dv, 0, v.length);
            return dv;
        }
    }

    private static final class NotOnDevice extends RuntimeException {
        NotOnDevice(String what) {
            super(what, null, false, false);
        }
    }

    /** One block's weights on the device; {@code dense} and {@code shared} are {gate, up, down}. */
    private record DeviceLayer(Device.Vec attnNorm, Device.Mat qA, Device.Vec qANorm, Device.Mat q, Device.Mat kvA,
                               Device.Vec kvANorm, Device.Mat kB, Device.Mat vB, Device.Mat attnOut,
                               Device.Vec ffnNorm, Device.Mat[] dense, Device.Mat router, Device.Mat[] shared) {
    }

    /** A state's vectors and latent KV cache on the device. */
    private final class DeviceState {
        final Device d;
        final Device.Vec x;
        final Device.Vec h;
        final Device.Vec qa;
        final Device.Vec q;
        final Device.Vec kv;
        final Device.Vec qAbs;
        final Device.Vec oLat;
        final Device.Vec o;
        final Device.Vec out;
        final Device.Vec att;
        final Device.Vec cs;
        final Device.Vec ffnGate;
        final Device.Vec ffnUp;
        final Device.Vec experts;
        final Device.Vec routerLogits;
        final Device.Vec logits;
        final Device.Vec expGate;   // a VRAM expert's scratch
        final Device.Vec expUp;
        final Device.Vec expOut;
        final float[] csHost = new float[ropeDims];
        private final java.util.List<Device.Vec> all = new java.util.ArrayList<>();

        /** Per layer the latent cache: in device memory, or the host state's own arrays (CPU prefill). */
        final Device.Vec[] layerCaches;

        /** {@code hostCache}: the CPU prefill writes the host state's own latent cache; null: one in device memory. */
        DeviceState(Device d, int capacity, LatentKvCache hostCache) {
            this.d = d;
            int width = kvLora + ropeDims;
            this.layerCaches = new Device.Vec[cfg.layers()];
            try {
                x = v("activations", cfg.hidden());
                h = v("activations", cfg.hidden());
                qa = v("activations", Math.max(1, cfg.qLoraRank()));
                q = v("activations", cfg.heads() * (nope + ropeDims));
                kv = v("activations", width);
                qAbs = v("activations", cfg.heads() * width);
                oLat = v("activations", cfg.heads() * kvLora);
                o = v("activations", cfg.heads() * vDim);
                out = v("activations", cfg.hidden());
                att = v("activations", Math.multiplyExact(cfg.heads(), capacity));
                cs = v("activations", ropeDims);
                int ffn = Math.max(1, Math.max(cfg.ffn(), sharedFfn));
                ffnGate = v("activations", ffn);
                ffnUp = v("activations", ffn);
                experts = v("activations", cfg.hidden());
                routerLogits = v("activations", Math.max(1, cfg.experts()));
                logits = v("activations", cfg.vocab());
                for (int l = 0; l < layerCaches.length; l++) {   // one vector per layer: 61 x 256k x 576 floats overflow an int
                    layerCaches[l] = hostCache != null ? ((io.trillium.backend.CpuDevice) d).wrap(hostCache.layer(l))
                            : d.vector("kv cache", Math.multiplyExact(capacity, width));
                    all.add(layerCaches[l]);
                }
                expGate = v("activations", Math.max(1, cfg.expertFfn()));
                expUp = v("activations", Math.max(1, cfg.expertFfn()));
                expOut = v("activations", cfg.hidden());
            } catch (RuntimeException | Error e) {
                close();
                throw e;
            }
        }

        private Device.Vec v(String tag, int floats) {
            Device.Vec r = d.vector(tag, floats);
            all.add(r);
            return r;
        }

        /** Layer {@code l}'s latent cache. */
        Device.Vec cache(int l) {
            return layerCaches[l];
        }

        void close() {
            all.forEach(d::release);
            all.clear();
        }
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
            DeviceLayer dl = dw.layers[l];
            d.rmsnorm(g.h, 0, g.x, 0, dl.attnNorm, hidden, eps);
            if (dl.qA != null) {
                d.matVec(dl.qA, g.h, g.qa);
                d.rmsnorm(g.qa, 0, g.qa, 0, dl.qANorm, cfg.qLoraRank(), eps);
                d.matVec(dl.q, g.qa, g.q);
            } else {
                d.matVec(dl.q, g.h, g.q);
            }
            d.matVec(dl.kvA, g.h, g.kv);
            d.rmsnorm(g.kv, 0, g.kv, 0, dl.kvANorm, kvLora, eps);
            d.rope(g.kv, 1, width, kvLora, g.cs, 0, ropeDims, rope.neox());
            Device.Vec cache = g.cache(l);
            d.copy(g.kv, 0, 0, cache, pos * width, 0, width, 1);
            d.rope(g.q, heads, qHead, nope, g.cs, 0, ropeDims, rope.neox());
            d.mlaHeads(dl.kB, w.kBAll.headBytes(), dl.vB, w.vBAll.headBytes(), mlaShape, g.q, cache, pos, 1, g.o,
                    g.qAbs, g.att, cap, g.oLat);
            d.matVec(dl.attnOut, g.o, g.out);
            d.add(g.x, g.out, hidden);

            d.rmsnorm(g.h, 0, g.x, 0, dl.ffnNorm, hidden, eps);
            if (dl.dense != null) {
                swiglu(d, dl.dense, g, g.out);
                d.add(g.x, g.out, hidden);
                continue;
            }
            d.matVec(dl.router, g.h, g.routerLogits);
            d.download(g.routerLogits, 0, s.routerLogits, 0, cfg.experts());
            d.download(g.h, 0, s.h, 0, hidden);
            if (needX) {
                d.download(g.x, 0, s.x, 0, hidden);
            }
            s.router.route(s.routerLogits, w.routerBias, s.ids, s.weights);
            prefetcher.routed(s.prefetch, l, s.ids, s.router.used(), s.x);
            if (dl.shared != null) {
                swiglu(d, dl.shared, g, g.out);   // queued: the device runs it while the host runs the experts
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
            if (dl.shared != null) {
                d.add(g.x, g.out, hidden);
            }
        }
        d.rmsnorm(g.h, 0, g.x, 0, dw.outputNorm, hidden, eps);
        d.matVec(dw.output, g.h, g.logits);
        d.download(g.logits, 0, s.logits, 0, cfg.vocab());
        s.pos++;
    }

    /**
     * A state's device vectors and cache; when VRAM is short the routed experts kept there make room
     * first, and when it is still short the state runs the host step (null), with the reason logged.
     */
    private DeviceState newDeviceState(int capacity) {
        try {
            return new DeviceState(onDevice.device(), capacity, null);
        } catch (RuntimeException e) {
            if (vramExperts != null && !vramExperts.resident.isEmpty()) {
                vramExperts.evictAll(onDevice.device());
                try {
                    return new DeviceState(onDevice.device(), capacity, null);
                } catch (RuntimeException again) {
                    e = again;
                }
            }
            System.getLogger(DeepseekModel.class.getName()).log(System.Logger.Level.WARNING,
                    "a state of {0} tokens runs on the host: {1}", capacity, e.getMessage());
            return null;
        }
    }

    /**
     * The routed experts chosen most often so far (the prefetcher's counts), kept in VRAM within half of
     * what the device would have free without them, so that decode computes them there instead of on the host. Re-ranked every
     * {@link #vramExpertsEvery} decode tokens; given back when a new state needs the room.
     */
    private final class VramExperts {
        /** New experts uploaded per re-ranking (a K2.5 expert is 25 MB: 16 take ~15 ms over PCIe 4). */
        static final int UPLOADS_PER_REBALANCE = 16;
        final java.util.Map<Long, Device.Mat[]> resident = new java.util.HashMap<>();
        long tokens;
        long computed;
        long uploads;

        Device.Mat[] get(int layer, int expert) {
            return resident.get(((long) layer << 32) | expert);
        }

        /** The three stacked expert tensors of {@code layer}, or null when the model has no such GGUF stacks. */
        private Tensor[] stacks(int layer) {
            String p = "blk." + layer + ".";
            String[] names = {p + "ffn_gate_exps.weight", p + "ffn_up_exps.weight", p + "ffn_down_exps.weight"};
            Tensor[] t = new Tensor[3];
            for (int i = 0; i < 3; i++) {
                if (!gguf.hasTensor(names[i])) {
                    return null;
                }
                t[i] = gguf.tensor(names[i]);
            }
            return t;
        }

        void rebalance(Device d) {
            ExpertStats stats = prefetcher.stats();
            record Candidate(int layer, int expert, long count, long bytes) {
            }
            java.util.List<Candidate> all = new java.util.ArrayList<>();
            Tensor[][] stacks = new Tensor[layers.length][];
            long held = 0;
            for (int l = 0; l < layers.length; l++) {
                if (layers[l].router == null || (stacks[l] = stacks(l)) == null) {
                    continue;
                }
                long bytes = 0;
                for (Tensor t : stacks[l]) {
                    bytes += t.expert(0).data().byteSize();
                }
                for (int e = 0; e < cfg.experts(); e++) {
                    long c = stats.count(l, e);
                    if (c > 0) {
                        all.add(new Candidate(l, e, c, bytes));
                    }
                    if (get(l, e) != null) {
                        held += bytes;
                    }
                }
            }
            all.sort(java.util.Comparator.comparingLong(Candidate::count).reversed());
            long room = (d.available() + held) / 2;   // half of what would be free without them
            java.util.Set<Long> chosen = new java.util.LinkedHashSet<>();   // most chosen first
            long used = 0;
            for (Candidate c : all) {
                if (used + c.bytes() > room) {
                    break;
                }
                used += c.bytes();
                chosen.add(((long) c.layer() << 32) | c.expert());
            }
            for (var it = resident.entrySet().iterator(); it.hasNext(); ) {
                var e = it.next();
                if (!chosen.contains(e.getKey())) {
                    for (Device.Mat m : e.getValue()) {
                        d.release(m);
                    }
                    it.remove();
                }
            }
            int added = 0;
            for (long key : chosen) {
                if (resident.containsKey(key)) {
                    continue;
                }
                if (added++ == UPLOADS_PER_REBALANCE) {
                    return;   // the rest at the next re-ranking: a step never stalls for long on uploads
                }
                int l = (int) (key >>> 32);
                int e = (int) key;
                Device.Mat[] m = new Device.Mat[3];
                for (int i = 0; i < 3; i++) {
                    m[i] = d.matrix(stacks[l][i].expert(e));
                    if (m[i] == null) {   // no kernel for the type, or no room after all: keep what fits
                        for (int j = 0; j < i; j++) {
                            d.release(m[j]);
                        }
                        return;
                    }
                }
                resident.put(key, m);
                uploads++;
            }
        }

        void evictAll(Device d) {
            resident.values().forEach(ms -> {
                for (Device.Mat m : ms) {
                    d.release(m);
                }
            });
            resident.clear();
        }
    }

    /**
     * A batch of prompt tokens through every layer on the device, layer by layer: every projection is one
     * batched product (each weight read once per batch), attention runs token by token (causal, in order),
     * and per MoE layer the batch's hidden states and router logits come to the host once. The routed
     * experts run on the host, or, for batches of at least {@link #streamExpertsFrom} tokens, on the
     * device: each chosen expert is streamed there once and applied to all of its tokens.
     */
    private void devicePrefill(MlaState s, DeviceState g, DeviceWeights dw, int[] tokens) {
        Device d = g.d;
        int b = tokens.length;
        int hidden = cfg.hidden();
        int heads = cfg.heads();
        int qHead = nope + ropeDims;
        int qDim = heads * qHead;
        int width = kvLora + ropeDims;
        int qLora = cfg.qLoraRank();
        int p0 = s.pos;
        int cap = s.capacity();
        float eps = cfg.rmsEps();
        s.checkFits(p0, b);
        java.util.List<Device.Vec> tmp = new java.util.ArrayList<>();
        java.util.function.IntFunction<Device.Vec> v = n -> {
            Device.Vec r = d.vector("prefill", n);
            tmp.add(r);
            return r;
        };
        // the CPU device's operations are synchronous, so laps between them measure them (a GPU's are not)
        StepTimes times = dw == hostPrefill ? prefillTimes : StepTimes.OFF;
        times.start();
        try {
            int ffn = Math.max(1, Math.max(cfg.ffn(), sharedFfn));
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
                embedRow.dequantize(embed.data(), tokens[t] * embed.rowBytes(), hostX, t * hidden, hidden);
            }
            d.upload(hostX, 0, x, 0, b * hidden);
            float[] hostCs = new float[b * ropeDims];
            for (int t = 0; t < b; t++) {
                rope.angles(p0 + t, s.cos, s.sin);
                System.arraycopy(s.cos, 0, hostCs, t * ropeDims, ropeDims / 2);
                System.arraycopy(s.sin, 0, hostCs, t * ropeDims + ropeDims / 2, ropeDims / 2);
            }
            d.upload(hostCs, 0, cs, 0, b * ropeDims);
            float[] hostH = new float[b * hidden];
            float[] hostE = new float[b * hidden];
            float[] hostLogits = new float[Math.max(1, b * cfg.experts())];
            Device.Vec[] streamed = null;
            times.lap(StepTimes.Op.OUTPUT);

            for (int l = 0; l < layers.length; l++) {
                Layer w = layers[l];
                DeviceLayer dl = dw.layers[l];
                Device.Vec cache = g.cache(l);
                d.rmsnorm(h, x, dl.attnNorm, hidden, b, hidden, eps);
                if (dl.qA != null) {
                    d.matMul(dl.qA, h, 0, hidden, qa, 0, qLora, b);
                    d.rmsnorm(qa, qa, dl.qANorm, qLora, b, qLora, eps);
                    d.matMul(dl.q, qa, 0, qLora, q, 0, qDim, b);
                } else {
                    d.matMul(dl.q, h, 0, hidden, q, 0, qDim, b);
                }
                d.matMul(dl.kvA, h, 0, hidden, kv, 0, width, b);
                d.rmsnorm(kv, kv, dl.kvANorm, kvLora, b, width, eps);
                for (int t = 0; t < b; t++) {
                    d.rope(kv, 1, width, t * width + kvLora, cs, t * ropeDims, ropeDims, rope.neox());
                    d.rope(q, heads, qHead, t * qDim + nope, cs, t * ropeDims, ropeDims, rope.neox());
                }
                d.copy(kv, 0, width, cache, p0 * width, width, width, b);
                times.lap(StepTimes.Op.ATTENTION_PROJECTIONS);
                d.mlaHeads(dl.kB, w.kBAll.headBytes(), dl.vB, w.vBAll.headBytes(), mlaShape, q, cache, p0, b, o,
                        g.qAbs, g.att, cap, g.oLat);
                times.lap(StepTimes.Op.ATTENTION);
                d.matMul(dl.attnOut, o, 0, heads * vDim, out, 0, hidden, b);
                d.add(x, out, b * hidden);

                d.rmsnorm(h, x, dl.ffnNorm, hidden, b, hidden, eps);
                times.lap(StepTimes.Op.ATTENTION_PROJECTIONS);
                if (dl.dense != null) {
                    swiglu(d, dl.dense, h, f1, f2, out, b);
                    d.add(x, out, b * hidden);
                    times.lap(StepTimes.Op.DENSE_FFN);
                    continue;
                }
                int e = cfg.experts();
                d.matMul(dl.router, h, 0, hidden, routerLogits, 0, e, b);
                d.download(routerLogits, 0, hostLogits, 0, b * e);
                d.download(h, 0, hostH, 0, b * hidden);
                int used = s.router.used();
                int[] ids = new int[b * used];
                float[] weights = new float[b * used];
                for (int t = 0; t < b; t++) {
                    System.arraycopy(hostLogits, t * e, s.routerLogits, 0, e);
                    s.router.route(s.routerLogits, w.routerBias, s.ids, s.weights);
                    System.arraycopy(s.ids, 0, ids, t * used, used);
                    System.arraycopy(s.weights, 0, weights, t * used, used);
                    // no next-layer prediction in a batch: the next layer announces all of its experts at once
                    prefetcher.routed(s.prefetch, l, s.ids, used, s.x, false);
                }
                times.lap(StepTimes.Op.ROUTER);
                if (dl.shared != null) {
                    swiglu(d, dl.shared, h, f1, f2, out, b);   // queued: runs while the experts are computed
                    times.lap(StepTimes.Op.SHARED_EXPERT);
                }
                if (dw == hostPrefill) {
                    // on the CPU: experts grouped by expert, each whole on one worker, added to x in each
                    // token's routing order and before the shared expert, as the token-by-token step adds them
                    d.download(x, 0, hostX, 0, b * hidden);
                    s.experts.runBatch(l, hostH, b, ids, weights, used, hostX);
                    d.upload(hostX, 0, x, 0, b * hidden);
                    if (dl.shared != null) {
                        d.add(x, out, b * hidden);
                    }
                    times.lap(StepTimes.Op.ROUTED_EXPERTS);
                    continue;
                }
                Arrays.fill(hostE, 0f);
                if (b >= streamExpertsFrom) {
                    if (streamed == null) {   // an expert takes at most every token of the batch
                        streamed = new Device.Vec[] {v.apply(b * hidden), v.apply(b * cfg.expertFfn()),
                                v.apply(b * cfg.expertFfn()), v.apply(b * hidden)};
                    }
                    streamedExperts(d, l, b, ids, weights, used, hostH, hostE, streamed);
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
                if (dl.shared != null) {
                    d.add(x, out, b * hidden);
                }
            }
            d.rmsnorm(g.h, 0, x, (b - 1) * hidden, dw.outputNorm, hidden, eps);
            d.matVec(dw.output, g.h, g.logits);
            d.download(g.logits, 0, s.logits, 0, cfg.vocab());
            s.pos += b;
            times.lap(StepTimes.Op.OUTPUT);
        } finally {
            tmp.forEach(d::release);
        }
    }

    /**
     * The routed experts of a prefill batch on the device: tokens grouped by expert, each chosen expert's
     * three matrices streamed to the device once and applied to all of its tokens; the weighted outputs
     * are summed into {@code hostE} per token. An expert the device cannot take runs on the host.
     */
    private void streamedExperts(Device d, int layer, int b, int[] ids, float[] weights, int used, float[] hostH,
                                 float[] hostE, Device.Vec[] scratch) {
        int hidden = cfg.hidden();
        int f = cfg.expertFfn();
        int[] count = new int[cfg.experts()];
        for (int i = 0; i < b * used; i++) {
            count[ids[i]]++;
        }
        int most = Arrays.stream(count).max().orElse(0);
        Device.Vec xs = scratch[0];
        Device.Vec g1 = scratch[1];
        Device.Vec u1 = scratch[2];
        Device.Vec ys = scratch[3];
        float[] hostXs = new float[most * hidden];
        float[] hostYs = new float[most * hidden];
        int[] tok = new int[most];
        float[] wt = new float[most];
        ComputeBackend cpu = backend.hostBackend();
        float[] g = new float[f];
        float[] u = new float[f];
        float[] y = new float[hidden];
        {
            for (int e = 0; e < count.length; e++) {
                if (count[e] == 0) {
                    continue;
                }
                int n = 0;
                for (int i = 0; i < b * used; i++) {
                    if (ids[i] == e) {
                        tok[n] = i / used;
                        wt[n++] = weights[i];
                    }
                }
                ExpertWeights ew = experts.expert(layer, e);
                try {
                    Device.Mat mg = d.stage(ew.gate(), 0);
                    Device.Mat mu = mg == null ? null : d.stage(ew.up(), 1);
                    Device.Mat md = mu == null ? null : d.stage(ew.down(), 2);
                    if (md == null) {   // no kernel or no room: this expert on the host
                        for (int i = 0; i < n; i++) {
                            System.arraycopy(hostH, tok[i] * hidden, hostXs, 0, hidden);
                            ExpertExecutor.swiglu(cpu, ew, hostXs, g, u, y);
                            Ops.axpy(hostE, tok[i] * hidden, wt[i], y, 0, hidden);
                        }
                        continue;
                    }
                    for (int i = 0; i < n; i++) {
                        System.arraycopy(hostH, tok[i] * hidden, hostXs, i * hidden, hidden);
                    }
                    d.upload(hostXs, 0, xs, 0, n * hidden);
                    d.matMul(mg, xs, 0, hidden, g1, 0, f, n);
                    d.matMul(mu, xs, 0, hidden, u1, 0, f, n);
                    d.swiglu(g1, u1, n * f);
                    d.matMul(md, g1, 0, f, ys, 0, hidden, n);
                    d.download(ys, 0, hostYs, 0, n * hidden);
                    for (int i = 0; i < n; i++) {
                        Ops.axpy(hostE, tok[i] * hidden, wt[i], hostYs, i * hidden, hidden);
                    }
                } finally {
                    experts.release(layer, e);
                }
            }
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

    /** Position, latent cache and every scratch vector of the decode loop (allocated once). */
    private final class MlaState implements State {
        final LatentKvCache cache;
        int pos;
        final float[] x = new float[cfg.hidden()];
        final float[] h = new float[cfg.hidden()];
        final float[] out = new float[cfg.hidden()];
        final float[] qa = new float[Math.max(1, cfg.qLoraRank())];
        final float[] q = new float[cfg.heads() * (nope + ropeDims)];
        final float[] kv = new float[kvLora + ropeDims];
        final float[] qAbs = new float[cfg.heads() * (kvLora + ropeDims)];   // per head [q_abs | q_pe]
        final float[] oLat = new float[cfg.heads() * kvLora];
        final float[] o = new float[cfg.heads() * vDim];
        final float[] att;
        final float[] cos = new float[ropeDims / 2];
        final float[] sin = new float[ropeDims / 2];
        final float[] denseGate = new float[Math.max(1, cfg.ffn())];
        final float[] denseUp = new float[Math.max(1, cfg.ffn())];
        final float[] shGate = new float[Math.max(1, sharedFfn)];
        final float[] shUp = new float[Math.max(1, sharedFfn)];
        final float[] routerLogits = new float[Math.max(1, cfg.experts())];
        final int[] ids = new int[Math.max(1, cfg.expertsUsed())];
        final int[] hostIds = new int[Math.max(1, cfg.expertsUsed())];
        final float[] hostWeights = new float[Math.max(1, cfg.expertsUsed())];
        final float[] weights = new float[Math.max(1, cfg.expertsUsed())];
        final Router router;
        final ExpertExecutor experts;
        final Prefetcher.Scratch prefetch;
        final float[] logits = new float[cfg.vocab()];
        /** The per-head products and attention of a decode step on a CPU backend; null on another one. */
        final MlaHeads heads;
        final DeviceState dev;

        MlaState(int capacity) {
            this.capacity = capacity;
            dev = onDevice != null ? newDeviceState(capacity) : null;
            // the host cache only when the device does not hold it (a long context's cache is many GiB)
            cache = dev == null ? new LatentKvCache(cfg.layers(), kvLora, ropeDims, capacity) : null;
            att = dev == null ? new float[Math.multiplyExact(cfg.heads(), capacity)] : null;
            router = cfg.experts() > 0 ? new Router(cfg) : null;
            experts = cfg.experts() > 0
                    ? new ExpertExecutor(DeepseekModel.this.experts, backend, cfg.hidden(), cfg.expertFfn(),
                    cfg.expertsUsed()) : null;
            prefetch = prefetcher != null ? prefetcher.newScratch() : null;
            heads = dev == null && backend instanceof CpuBackend cpu ? new MlaHeads(cpu, mlaShape) : null;
        }

        final int capacity;
        boolean closed;

        void checkFits(int position, int n) {
            if (closed) {
                throw new IllegalStateException("the state was closed");
            }
            if ((long) position + n > capacity) {
                throw new IllegalArgumentException((position + (long) n) + " tokens exceed the context of " + capacity);
            }
        }

        private DeviceState hostPrefillState;

        /** The CPU prefill's vectors over this state's own latent cache, made on the first prompt. */
        DeviceState hostPrefill() {
            if (hostPrefillState == null) {
                hostPrefillState = new DeviceState(hostPrefill.device(), capacity(), cache);
            }
            return hostPrefillState;
        }

        @Override
        public void close() {
            closed = true;
            if (dev != null) {
                dev.close();
            }
            if (hostPrefillState != null) {
                hostPrefillState.close();
                hostPrefillState = null;
            }
        }

        DeepseekModel model() {
            return DeepseekModel.this;
        }

        @Override
        public int position() {
            return pos;
        }

        @Override
        public int capacity() {
            return capacity;
        }

        @Override
        public void reset() {
            pos = 0;
        }
    }
}
