package io.trillium.synth;

import io.trillium.gguf.GgufValue;
import io.trillium.gguf.GgufWriter;
import io.trillium.quant.GgmlType;
import io.trillium.quant.Kernels;
import io.trillium.quant.Quantizer;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.List;
import java.util.Objects;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Consumer;

/**
 * Writes a random-weight GGUF model for a {@link SynthSpec}, streaming: each tensor is generated in
 * chunks of whole rows, quantized on worker threads and copied into its mapped region of the file,
 * so heap use stays at a few MiB per thread whatever the model size.
 *
 * <p>The bytes depend on the spec (seed included) only. Chunk {@code c} of tensor {@code n} draws
 * from {@code new SplittableRandom(mix(seed, n, c))} and chunk boundaries depend on ne0 alone, so
 * thread count and scheduling do not matter, and the same seed gives the same float values for
 * every weight type (a Q4_K file holds the quantized weights of the F32 one).
 */
public final class ModelSynthesizer {

    /** Elements per generation chunk (rounded to whole rows): 1 MiB of floats. */
    static final int CHUNK_ELEMENTS = 1 << 18;

    /** What was written. */
    public record Result(Path path, SynthSpec spec, long fileBytes, Duration time) {
    }

    private final SynthSpec spec;
    private int threads = Runtime.getRuntime().availableProcessors();
    private boolean overwrite;
    private boolean exactQuant;
    private boolean noData;
    private Consumer<String> log = s -> { };
    private HotExperts skew;   // set by write() when the spec has hot experts

    public ModelSynthesizer(SynthSpec spec) {
        this.spec = Objects.requireNonNull(spec, "spec");
    }

    /** Worker threads (default: available processors); the output does not depend on it. */
    public ModelSynthesizer threads(int threads) {
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be >= 1, got " + threads);
        }
        this.threads = threads;
        return this;
    }

    /** Whether an existing output file may be replaced (default false). */
    public ModelSynthesizer overwrite(boolean overwrite) {
        this.overwrite = overwrite;
        return this;
    }

    /**
     * Whether Q4_K uses ggml's reference rounding (about ten times slower) rather than the quick
     * min/max encoder (default false). Other types always use the reference quantizers.
     */
    public ModelSynthesizer exactQuant(boolean exactQuant) {
        this.exactQuant = exactQuant;
        return this;
    }

    /**
     * Whether to write the header and tensor table only (default false): the data section is left a
     * sparse hole that reads as zeros, so a full-size inventory (Kimi K2.5: ~550 GiB) costs a few MiB
     * of disk, for the placement planner and anything else that needs shapes, types and offsets only.
     */
    public ModelSynthesizer noData(boolean noData) {
        this.noData = noData;
        return this;
    }

    /** Receives type fallbacks and progress lines. */
    public ModelSynthesizer log(Consumer<String> log) {
        this.log = Objects.requireNonNull(log, "log");
        return this;
    }

    /** A writer with the spec's metadata and tensors declared and nothing written. */
    public GgufWriter declare() {
        GgufWriter w = new GgufWriter().overwrite(overwrite);
        SynthSpec s = spec;
        String a = s.arch() + ".";
        w.put("general.architecture", GgufValue.string(s.arch()));
        w.put("general.name", GgufValue.string(s.name()));
        w.put("general.type", GgufValue.string("model"));
        w.put(a + "context_length", GgufValue.u32(s.ctx()));
        w.put(a + "embedding_length", GgufValue.u32(s.hidden()));
        w.put(a + "feed_forward_length", GgufValue.u32(s.ffn()));
        w.put(a + "block_count", GgufValue.u32(s.layers()));
        w.put(a + "attention.head_count", GgufValue.u32(s.heads()));
        w.put(a + "attention.head_count_kv", GgufValue.u32(s.kvHeads()));
        w.put(a + "rope.freq_base", GgufValue.f32(s.ropeBase()));
        w.put(a + "attention.layer_norm_rms_epsilon", GgufValue.f32(s.rmsEps()));
        if (s.experts() > 0) {
            w.put(a + "expert_count", GgufValue.u32(s.experts()));
            w.put(a + "expert_used_count", GgufValue.u32(s.used()));
        }
        w.put(a + "vocab_size", GgufValue.u32(s.vocab()));
        switch (s.arch()) {
            case "deepseek2" -> {
                // Mainline MLA layout (MODEL-FACTS 3.3): the cache holds the latent plus the rope key.
                w.put(a + "expert_group_count", GgufValue.u32(s.expertGroups()));
                w.put(a + "expert_group_used_count", GgufValue.u32(s.expertGroupsUsed()));
                w.put(a + "expert_gating_func", GgufValue.u32(s.gatingFunc()));
                w.put(a + "leading_dense_block_count", GgufValue.u32(s.leadingDense()));
                if (s.qLoraRank() > 0) {
                    w.put(a + "attention.q_lora_rank", GgufValue.u32(s.qLoraRank()));
                }
                w.put(a + "attention.kv_lora_rank", GgufValue.u32(s.kvLoraRank()));
                w.put(a + "attention.key_length", GgufValue.u32(s.kvLoraRank() + s.ropeDims()));
                w.put(a + "attention.value_length", GgufValue.u32(s.kvLoraRank()));
                w.put(a + "attention.key_length_mla", GgufValue.u32(s.headDim()));
                w.put(a + "attention.value_length_mla", GgufValue.u32(s.vDim()));
                w.put(a + "expert_feed_forward_length", GgufValue.u32(s.expertFfn()));
                w.put(a + "expert_shared_count", GgufValue.u32(s.sharedExperts()));
                if (s.weightsScale() != 0) {
                    w.put(a + "expert_weights_scale", GgufValue.f32(s.weightsScale()));
                }
                if (s.weightsNorm()) {
                    w.put(a + "expert_weights_norm", GgufValue.bool(true));
                }
                w.put(a + "rope.dimension_count", GgufValue.u32(s.ropeDims()));
            }
            case "qwen3moe" -> {
                w.put(a + "attention.key_length", GgufValue.u32(s.headDim()));
                w.put(a + "attention.value_length", GgufValue.u32(s.headDim()));
                w.put(a + "expert_feed_forward_length", GgufValue.u32(s.expertFfn()));
                if (s.ropeDims() != s.headDim()) {
                    w.put(a + "rope.dimension_count", GgufValue.u32(s.ropeDims()));
                }
            }
            case "llama" -> {
                w.put(a + "rope.dimension_count", GgufValue.u32(s.ropeDims()));
                if ((long) s.headDim() * s.heads() != s.hidden()) {
                    w.put(a + "attention.key_length", GgufValue.u32(s.headDim()));
                    w.put(a + "attention.value_length", GgufValue.u32(s.headDim()));
                }
            }
            default -> throw new AssertionError(s.arch());
        }
        if (s.yarnFactor() > 0) {
            w.put(a + "rope.scaling.type", GgufValue.string("yarn"));
            w.put(a + "rope.scaling.factor", GgufValue.f32(s.yarnFactor()));
            w.put(a + "rope.scaling.original_context_length", GgufValue.u32(s.yarnOrigCtx()));
            if (s.arch().equals("deepseek2")) {
                w.put(a + "rope.scaling.yarn_beta_fast", GgufValue.f32(s.yarnBetaFast()));
                w.put(a + "rope.scaling.yarn_beta_slow", GgufValue.f32(s.yarnBetaSlow()));
                w.put(a + "rope.scaling.yarn_log_multiplier", GgufValue.f32(s.yarnLogMul()));
            }
        }
        w.put("general.file_type", GgufValue.u32(fileType(s.weightType())));
        w.put("general.quantization_version", GgufValue.u32(2));
        SynthVocab.put(w, s.vocab());
        for (SynthTensor t : s.tensors()) {
            w.tensor(t.name(), t.type(), t.shape());
        }
        return w;
    }

    /** llama_ftype of a file whose big matrices are {@code t} (informational; each tensor carries its type). */
    static int fileType(GgmlType t) {
        return switch (t) {
            case F32 -> 0;
            case F16 -> 1;
            case Q4_0 -> 2;
            case Q8_0 -> 7;
            case Q4_K -> 14; // MOSTLY_Q4_K_S: Q4_K nearly everywhere
            case Q6_K -> 18;
            case BF16 -> 32;
            case IQ3_S -> 26;   // llama.cpp's MOSTLY_IQ3_S, MOSTLY_TQ1_0 and MOSTLY_TQ2_0
            case TQ1_0 -> 36;
            case TQ2_0 -> 37;
            default -> throw new IllegalArgumentException("no file type for " + t);
        };
    }

    /** Writes the model to {@code out}; refuses to replace an existing file unless {@link #overwrite} allows it. */
    public Result write(Path out) throws IOException {
        long start = System.nanoTime();
        GgufWriter w = declare();
        if (spec.hotExperts() > 0) {
            skew = HotExperts.of(spec);
            log.accept(String.format("skew: %d hot experts per layer, %s %.4f", spec.hotExperts(),
                    skew.bias() ? "selection bias +" : "router rows x", skew.lift()));
        }
        for (String f : spec.fallbacks()) {
            log.accept("type fallback: " + f);
        }
        if (noData) {
            w.write(out, null);
            return new Result(out, spec, Files.size(out), Duration.ofNanos(System.nanoTime() - start));
        }
        List<SynthTensor> tensors = spec.tensors();
        long total = spec.tensorBytes();
        long[] done = {0};
        int[] reported = {0};
        ExecutorService pool = threads > 1 ? Executors.newFixedThreadPool(threads, r -> {
            Thread t = new Thread(r, "synth");
            t.setDaemon(true);
            return t;
        }) : null;
        try {
            int[] index = {0};
            w.write(out, (info, dst) -> {
                SynthTensor t = tensors.get(index[0]++);
                if (!t.name().equals(info.name())) {
                    throw new IllegalStateException("tensor order: expected " + t.name() + ", writer asks " + info.name());
                }
                fill(t, dst, pool);
                done[0] += t.bytes();
                int pct = (int) (done[0] * 10 / Math.max(1, total)) * 10;
                if (pct > reported[0] && pct < 100) {
                    reported[0] = pct;
                    log.accept(String.format("%3d%%  %s of %s  %.1f s", pct, SynthSpec.formatBytes(done[0]),
                            SynthSpec.formatBytes(total), (System.nanoTime() - start) / 1e9));
                }
            });
        } finally {
            if (pool != null) {
                pool.shutdownNow();
            }
        }
        return new Result(out, spec, Files.size(out), Duration.ofNanos(System.nanoTime() - start));
    }

    /** Generates and encodes every chunk of {@code t} into {@code dst}, in order, on the calling thread's mapping. */
    private void fill(SynthTensor t, MemorySegment dst, ExecutorService pool) throws IOException {
        int ne0 = Math.toIntExact(t.ne0());
        long rows = t.elements() / ne0;
        int rowsPerChunk = Math.max(1, CHUNK_ELEMENTS / ne0);
        long chunks = (rows + rowsPerChunk - 1) / rowsPerChunk;
        long chunkBytes = t.type().bytesFor((long) rowsPerChunk * ne0);
        long seed = tensorSeed(spec.seed(), t.name());
        if (pool == null || chunks == 1) {
            for (long c = 0; c < chunks; c++) {
                byte[] b = chunk(t, seed, c, rows, rowsPerChunk);
                MemorySegment.copy(b, 0, dst, ValueLayout.JAVA_BYTE, c * chunkBytes, b.length);
            }
            return;
        }
        // The mapping is confined to this thread: workers return bytes, this thread copies them in order.
        ArrayDeque<Future<byte[]>> window = new ArrayDeque<>();
        long next = 0;
        for (long c = 0; c < chunks; c++) {
            while (next < chunks && window.size() < 2 * threads) {
                long n = next++;
                window.add(pool.submit(() -> chunk(t, seed, n, rows, rowsPerChunk)));
            }
            byte[] b;
            try {
                b = window.poll().get();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted", e);
            } catch (ExecutionException e) {
                throw e.getCause() instanceof RuntimeException r ? r : new IllegalStateException(e.getCause());
            }
            MemorySegment.copy(b, 0, dst, ValueLayout.JAVA_BYTE, c * chunkBytes, b.length);
        }
    }

    /** The encoded bytes of rows {@code [c·rowsPerChunk, …)} of {@code t}. */
    private byte[] chunk(SynthTensor t, long tensorSeed, long c, long rows, int rowsPerChunk) {
        int ne0 = (int) t.ne0();
        int n = (int) (Math.min(rowsPerChunk, rows - c * rowsPerChunk) * ne0);
        float[] v = new float[n];
        values(t, tensorSeed, c, v);
        if (skew != null) {
            skew.apply(t, c, rowsPerChunk, v);
        }
        byte[] out = new byte[(int) t.type().bytesFor(n)];
        if (t.type() == GgmlType.Q4_K && !exactQuant) {
            FastQ4K.quantize(v, n, out);
        } else {
            Quantizer q = Kernels.quantizer(t.type());
            q.quantize(v, 0, MemorySegment.ofArray(out), 0, n);
        }
        return out;
    }

    /** Fills {@code v} with the values of chunk {@code c}. */
    static void values(SynthTensor t, long tensorSeed, long c, float[] v) {
        SplittableRandom r = new SplittableRandom(mix(tensorSeed + mix(c + 1)));
        switch (t.init()) {
            case EMBEDDING -> gaussian(r, v, 0, 0.02);
            case MATRIX, ROUTER -> gaussian(r, v, 0, 1 / Math.sqrt(t.ne0()));
            case NORM -> gaussian(r, v, 1, 0.1);
            case BIAS -> gaussian(r, v, 0, 0.01);
        }
    }

    private static void gaussian(SplittableRandom r, float[] v, double mean, double std) {
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) (mean + std * r.nextGaussian());
        }
    }

    /** Seed of one tensor: the spec seed mixed with a 64-bit FNV-1a hash of the name. */
    static long tensorSeed(long seed, String name) {
        long h = 0xcbf29ce484222325L;
        for (byte b : name.getBytes(StandardCharsets.UTF_8)) {
            h = (h ^ (b & 0xFF)) * 0x100000001b3L;
        }
        return mix(mix(seed) ^ h);
    }

    /** SplitMix64's finalizer: spreads nearby inputs over all 64 bits. */
    static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
        z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
        return z ^ (z >>> 31);
    }
}
