package io.trillium.api;

import io.trillium.chat.ChatTemplate;
import io.trillium.model.LanguageModel;
import io.trillium.tokenizer.Tokenizer;

import java.util.Arrays;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A loaded model: its mapped weights, compute threads and tokenizer. Create {@link Session}s to
 * generate text; one model serves any number of sessions, from any threads.
 *
 * <p><b>Concurrency.</b> All sessions share the model's compute backend, whose worker pool runs one
 * parallel loop at a time and already uses every configured thread for a single token. Forward
 * passes of different sessions are therefore serialised on a lock owned by the model (fair, so
 * sessions interleave token by token); everything else (tokenizing, sampling, stop-string
 * matching, listener calls) runs concurrently. This keeps one copy of the weights and one thread
 * pool while giving each session its own KV cache; sessions never see each other's state.
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
    private final ReentrantLock forwardLock = new ReentrantLock(true);
    private volatile boolean closed;

    Model(LanguageModel lm, ModelInfo info, ChatTemplate template, LoadOptions options) {
        this.lm = lm;
        this.info = info;
        this.template = template;
        this.options = options;
        this.stopIds = endOfGenerationIds(lm.tokenizer());
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

    /**
     * Runs the forward pass for {@code state}, serialised with other sessions, and copies the logits into
     * {@code into} (a session's own buffer of {@link #vocab()} floats, so a decode step allocates nothing).
     */
    float[] forward(LanguageModel.State state, int[] tokens, float[] into) {
        forwardLock.lock();
        try {
            ensureOpen();
            float[] logits = lm.forward(state, tokens);
            System.arraycopy(logits, 0, into, 0, logits.length);
            return into;
        } finally {
            forwardLock.unlock();
        }
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
        forwardLock.lock();
        try {
            if (!closed) {
                closed = true;
                lm.close();
            }
        } finally {
            forwardLock.unlock();
        }
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
