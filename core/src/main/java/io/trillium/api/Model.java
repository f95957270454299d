package io.trillium.api;

import io.trillium.chat.ChatTemplate;
import io.trillium.model.LanguageModel;
import io.trillium.tokenizer.Tokenizer;

import java.util.Arrays;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * A loaded model: its mapped weights, compute threads and tokenizer. Create {@link Session}s to
 * generate text; one model serves any number of sessions, from any threads.
 *
 * <p><b>Concurrency.</b> All sessions share the model's compute backend, whose worker pool runs one
 * parallel loop at a time and already uses every configured thread for a single token. Forward
 * passes therefore run one at a time, but the decode steps of sessions generating at the same time
 * run together as one batched pass (the weights read once for all of them; with deepseek2 on the
 * CPU each session's tokens are bit for bit those it would produce alone), and a long prompt runs
 * in chunks between them; everything else (tokenizing, sampling, stop-string matching, listener
 * calls) runs concurrently. This keeps one copy of the weights and one thread pool while giving
 * each session its own KV cache; sessions never see each other's state.
 *
 * <p><b>Lifetime.</b> {@link #close()} waits for a forward pass in progress, then releases the
 * weights and threads; afterwards every method of the model and of its sessions throws
 * {@link IllegalStateException}. This class is thread-safe.
 */
public final class Model implements AutoCloseable {
    private final LanguageModel lm;
    private final ModelInfo info;
    private final ChatTemplate template;
    private final LoadOptions options;
    private final int[] stopIds;
    private final ForwardQueue passes;
    private volatile boolean closed;
    private volatile io.trillium.json.VocabIndex vocabIndex;

    Model(LanguageModel lm, ModelInfo info, ChatTemplate template, LoadOptions options) {
        this.lm = lm;
        this.info = info;
        this.template = template;
        this.options = options;
        this.stopIds = endOfGenerationIds(lm.tokenizer());
        this.passes = new ForwardQueue(lm);
    }

    /** The tokenizer's eos plus the end-of-turn tokens of common chat vocabularies that are present. */
    static int[] endOfGenerationIds(Tokenizer tok) {
        java.util.TreeSet<Integer> ids = new java.util.TreeSet<>();
        tok.eos().ifPresent(ids::add);
        for (String s : new String[] {"<|im_end|>", "<|eot_id|>", "<|end_of_text|>", "[EOS]"}) {
            OptionalInt id = tok.tokenId(s);
            id.ifPresent(ids::add);
        }
        return ids.stream().mapToInt(Integer::intValue).toArray();
    }

    /** What the model is. */
    public ModelInfo info() {
        ensureOpen();
        return info;
    }

    /** The model's tokenizer. */
    public Tokenizer tokenizer() {
        ensureOpen();
        return lm.tokenizer();
    }

    /** The chat template (the file's own or a built-in for its family), if one could be compiled. */
    public Optional<ChatTemplate> chatTemplate() {
        ensureOpen();
        return Optional.ofNullable(template);
    }

    /** Token ids that end a generation (eos, {@code <|im_end|>}, {@code <|eot_id|>}, {@code <|end_of_text|>}, {@code [EOS]} when present). */
    public int[] endOfGenerationIds() {
        return stopIds.clone();
    }

    /** The vocabulary in byte order for constrained output, built on first use (once per model). */
    io.trillium.json.VocabIndex vocabIndex() {
        io.trillium.json.VocabIndex v = vocabIndex;
        if (v == null) {
            synchronized (this) {
                v = vocabIndex;
                if (v == null) {
                    v = io.trillium.json.VocabIndex.of(lm.tokenizer());
                    vocabIndex = v;
                }
            }
        }
        return v;
    }

    boolean isEndOfGeneration(int id) {
        return Arrays.binarySearch(stopIds, id) >= 0;
    }

    /**
     * A session with the default context length: {@link LoadOptions#contextLength()}, else the model's
     * trained context (which can be large: the KV cache is allocated for all of it).
     */
    public Session newSession() {
        int ctx = options.contextLength() > 0 ? options.contextLength() : info.contextLength();
        return newSession(ctx);
    }

    /** A session with its own KV cache of {@code contextLength} tokens. */
    public Session newSession(int contextLength) {
        if (contextLength < 1) {
            throw new IllegalArgumentException("contextLength must be >= 1: " + contextLength);
        }
        ensureOpen();
        LanguageModel.State state = lm.newState(contextLength);
        try {
            return new Session(this, state);
        } catch (RuntimeException | Error e) {   // the logits buffer did not fit: the state's cache goes too
            state.close();
            throw e;
        }
    }

    /** A session's handle for its forward passes: its state and logits buffer of {@link #vocab()} floats. */
    ForwardQueue.Step newStep(LanguageModel.State state, float[] into) {
        return new ForwardQueue.Step(state, into);
    }

    /**
     * Runs {@code tokens} through the model for a session ({@link ForwardQueue}: one pass at a time, the decode
     * steps of sessions generating together in one batched pass) and leaves the logits in the step's buffer, so
     * a decode step allocates nothing.
     */
    float[] forward(ForwardQueue.Step step, int[] tokens) {
        ensureOpen();
        return passes.forward(step, tokens);
    }

    /** A session starts or ends decoding (its steps are then waited for by the others' passes). */
    void decoding(boolean starts) {
        passes.decoding(starts);
    }

    /** Passes run, decode steps in them, and the most steps one pass took (tests). */
    long[] passCounts() {
        return passes.counts();
    }

    /** The engine's model itself (tests: its forward pass without the API around it). */
    LanguageModel languageModel() {
        return lm;
    }

    /** Logits per forward pass: the vocabulary size. */
    int vocab() {
        return lm.config().vocab();
    }

    void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("model is closed");
        }
    }

    boolean isClosed() {
        return closed;
    }

    /** Releases the weights and threads (after a forward pass in progress); idempotent. */
    @Override
    public void close() {
        passes.close(() -> {
            closed = true;
            lm.close();
        });
    }

    /** Weight bytes read since load, by tier (see {@link Metrics#bytesReadPerTier()}). */
    public Map<String, Long> bytesRead() {
        return lm.bytesRead();
    }

    /**
     * The tier layer's counters: expert statistics, prediction accuracy and, with the NVMe tier, the
     * expert cache's hits, misses and DRAM use.
     */
    public TierReport tierReport() {
        ensureOpen();
        return TierReport.of(lm);
    }
}
