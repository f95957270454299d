package io.trillium.api;

import io.trillium.chat.ChatTemplate;
import io.trillium.chat.Message;
import io.trillium.json.JsonConstraint;
import io.trillium.model.LanguageModel;
import io.trillium.sample.LogitsProcessor;
import io.trillium.sample.Sampler;
import io.trillium.sample.SamplingContext;
import io.trillium.tokenizer.StreamingDecoder;
import io.trillium.tokenizer.Tokenizer;

import java.time.Duration;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.locks.ReentrantLock;
import java.util.random.RandomGenerator;

/**
 * A conversation with a {@link Model}: its own KV cache and position. Sessions of one model may be
 * used from different threads at the same time (see {@link Model} for how they share the compute
 * threads); one session runs one generation at a time: a second concurrent call to
 * {@code generate} throws {@link IllegalStateException}. {@link #cancel()} may be called from any
 * thread.
 *
 * <p><b>KV-cache reuse.</b> The session remembers the tokens its cache holds (prompt and generated
 * tokens fed so far). When a new request's prompt starts with exactly those tokens, as in a
 * multi-turn chat whose new rendering extends the previous one, only the new suffix is fed;
 * otherwise the cache is reset and the whole prompt is fed. {@link Metrics#cachedPromptTokens()}
 * tells which happened.
 */
public final class Session implements AutoCloseable {
    private final Model model;
    private final LanguageModel.State state;
    private final ReentrantLock busy = new ReentrantLock();
    private int[] history = new int[16];
    private final float[] logits;   // the last forward pass's logits, rewritten by each (never reallocated)
    private final int[] decodeToken = new int[1];   // a decode step's input
    private final ForwardQueue.Step step;           // this session's forward passes (state and logits)
    private int historyLength;
    private volatile boolean cancelRequested;
    private volatile boolean closed;

    Session(Model model, LanguageModel.State state) {
        this.model = model;
        this.state = state;
        this.logits = new float[model.vocab()];
        this.step = model.newStep(state, logits);
    }

    /** This session's state in the model (tests: the forward pass without sampling around it). */
    LanguageModel.State state() {
        return state;
    }

    /** Context length: the most tokens (prompt + generated) this session's cache holds. */
    public int contextLength() {
        return state.capacity();
    }

    /** Tokens currently in the KV cache. */
    public int position() {
        ensureOpen();
        return historyLength;
    }

    /** Forgets the cached tokens, so that the next request starts from an empty context. */
    public void reset() {
        ensureOpen();
        if (!busy.tryLock()) {
            throw new IllegalStateException("session is generating");
        }
        try {
            clearCache();
        } finally {
            busy.unlock();
        }
    }

    /**
     * Asks the generation running in this session to stop: it returns with
     * {@link FinishReason#CANCELLED} before producing another token (at most the token being
     * computed when this is called is still delivered). No effect when no generation is running.
     */
    public void cancel() {
        cancelRequested = true;
    }

    /** Generates without streaming. */
    public GenerationResult generate(GenerationRequest request) {
        return generate(request, token -> { });
    }

    /**
     * Generates, passing each token to {@code listener} on this thread as it is produced. Returns
     * normally also when cancelled ({@link FinishReason#CANCELLED}; see
     * {@link GenerationResult#orThrowIfCancelled()}).
     *
     * @throws ContextOverflowException prompt tokens + {@code maxTokens} exceed {@link #contextLength()}
     * @throws IllegalStateException    the session or model is closed, or the session is already generating
     * @throws UnsupportedModelException a message prompt for a model without a usable chat template
     */
    public GenerationResult generate(GenerationRequest request, TokenListener listener) {
        ensureOpen();
        if (!busy.tryLock()) {
            throw new IllegalStateException("session is already generating; a session runs one generation at a time");
        }
        try {
            ensureOpen();   // closed between the check above and the lock: its state may be freed
            cancelRequested = false;
            return run(request, listener);
        } finally {
            if (closed) {
                state.close();   // closed while this generation ran: the state is freed once it is done
            }
            busy.unlock();
        }
    }

    private GenerationResult run(GenerationRequest request, TokenListener listener) {
        long t0 = System.nanoTime();
        Map<String, Long> bytesBefore = model.bytesRead();
        Tokenizer tok = model.tokenizer();
        int[] prompt = encode(request, tok);
        int maxTokens = request.maxTokens();
        if ((long) prompt.length + maxTokens > state.capacity()) {
            throw new ContextOverflowException(prompt.length, maxTokens, state.capacity());
        }
        JsonConstraint json = null;
        if (request.responseFormat().isPresent()) {
            json = new JsonConstraint(request.responseFormat().get(), model.vocabIndex(), model.endOfGenerationIds());
            json.begin(maxTokens);
        }
        int reused = 0;
        if (historyLength < prompt.length && state.position() == historyLength
                && Arrays.equals(history, 0, historyLength, prompt, 0, historyLength)) {
            reused = historyLength;
        } else {
            clearCache();
        }
        if (isCancelled(request)) {
            return new GenerationResult("", new int[0], FinishReason.CANCELLED,
                    metrics(0, reused, 0, t0, t0, t0, t0, t0, Map.of()));
        }
        int[] feed = Arrays.copyOfRange(prompt, reused, prompt.length);
        float[] logits = feed(feed);
        long tPrompt = System.nanoTime();

        // decoding from here: the passes of other sessions decoding at the same time wait for this one's steps
        model.decoding(true);
        try {
            RandomGenerator random = new SplittableRandom(request.seed());
            int[] ids = new int[Math.min(maxTokens, 1024)];
            int[] generated = {0};
            SamplingContext context = new SamplingContext() {
                @Override
                public int tokenCount() {
                    return historyLength;
                }

                @Override
                public int token(int i) {
                    return history[i];
                }

                @Override
                public int generatedCount() {
                    return generated[0];
                }

                @Override
                public RandomGenerator random() {
                    return random;
                }
            };
            Sampler sampler = request.sampler();
            StreamingDecoder decoder = new StreamingDecoder(tok);
            // under a response format the document's end is the stop: a stop string could only cut it short
            StopMatcher stops = new StopMatcher(json == null ? request.stopStrings() : List.of());
            StringBuilder text = new StringBuilder();
            FinishReason reason = FinishReason.LENGTH;
            long tFirst = 0;
            boolean flushed = false;
            while (true) {
                if (isCancelled(request)) {
                    reason = FinishReason.CANCELLED;
                    break;
                }
                for (LogitsProcessor p : request.logitsProcessors()) {
                    p.process(logits, context);
                }
                if (json != null) {
                    json.mask(logits, maxTokens - generated[0]);
                }
                int id = sampler == null ? argmax(logits) : sampler.sample(logits, context);
                if (id < 0 || id >= logits.length) {
                    throw new IllegalStateException("sampler returned token id " + id + " outside 0.." + (logits.length - 1));
                }
                if (generated[0] == 0) {
                    tFirst = System.nanoTime();
                }
                if (json != null && !json.allowed(id)) {
                    throw new IllegalStateException("the sampler chose token " + id
                            + ", which the response format had masked (a sampler must not pick a token of logit -inf)");
                }
                if (model.isEndOfGeneration(id)) {
                    reason = FinishReason.STOP_TOKEN;
                    break;
                }
                if (json != null) {
                    json.accept(id);
                }
                double logprob = logSoftmaxAt(logits, id);
                if (generated[0] == ids.length) {
                    ids = Arrays.copyOf(ids, Math.min(maxTokens, ids.length * 2));
                }
                ids[generated[0]++] = id;
                boolean last = generated[0] == maxTokens;
                String piece = decoder.accept(id);
                if (last) {
                    piece += decoder.flush();
                    flushed = true;
                }
                boolean stopped = stops.accept(piece, last);
                String released = stops.released();
                text.append(released);
                listener.onToken(new Token(id, released, logprob));
                if (stopped) {
                    reason = FinishReason.STOP_STRING;
                    flushed = true;
                    break;
                }
                if (json != null && (json.finished() || (last && json.complete()))) {
                    reason = FinishReason.STOP_TOKEN;   // the document is complete: nothing more to write
                    break;
                }
                if (last) {
                    break;
                }
                decodeToken[0] = id;
                logits = feed(decodeToken);
            }
            if (!flushed) {
                boolean stopped = stops.accept(decoder.flush(), true);
                String tail = stops.released();
                if (stopped && reason != FinishReason.CANCELLED) {
                    reason = FinishReason.STOP_STRING;
                }
                if (!tail.isEmpty()) {
                    text.append(tail);
                    listener.onToken(new Token(Token.NONE, tail, Double.NaN));
                }
            }
            long tEnd = System.nanoTime();
            int n = generated[0];
            return new GenerationResult(text.toString(), Arrays.copyOf(ids, n), reason,
                    metrics(feed.length, reused, n, t0, tPrompt, n == 0 ? tEnd : tFirst, tEnd, t0,
                            TierReport.difference(model.bytesRead(), bytesBefore)));
        } finally {
            model.decoding(false);
        }
    }

    private static Metrics metrics(int promptTokens, int cached, int generated, long t0, long tPrompt, long tFirst,
                                   long tEnd, long tStart, Map<String, Long> bytesRead) {
        double promptSeconds = (tPrompt - t0) / 1e9;
        double decodeSeconds = (tEnd - tFirst) / 1e9;
        return new Metrics(promptTokens, cached, promptSeconds > 0 ? promptTokens / promptSeconds : 0, generated,
                generated > 1 && decodeSeconds > 0 ? (generated - 1) / decodeSeconds : 0,
                Duration.ofNanos(Math.max(0, tFirst - tStart)), bytesRead);
    }

    private boolean isCancelled(GenerationRequest request) {
        ensureOpen();
        CancellationToken c = request.cancellation();
        return cancelRequested || (c != null && c.isCancelled());
    }

    /** Feeds tokens, recording them; on failure the cache is forgotten. */
    private float[] feed(int[] tokens) {
        float[] logits;
        try {
            logits = model.forward(step, tokens);
        } catch (io.trillium.tier.TierIOException e) {
            clearCache();   // no token came from the partial state; the session and the model serve on
            throw new ResourceException("weights could not be read: " + e.getMessage(), e);
        } catch (RuntimeException | Error e) {
            clearCache();
            throw e;
        }
        if (historyLength + tokens.length > history.length) {
            history = Arrays.copyOf(history, Math.max(history.length * 2, historyLength + tokens.length));
        }
        System.arraycopy(tokens, 0, history, historyLength, tokens.length);
        historyLength += tokens.length;
        return logits;
    }

    private void clearCache() {
        state.reset();
        historyLength = 0;
    }

    /** The prompt as ids: text with the model's special tokens, messages through the chat template. */
    private int[] encode(GenerationRequest request, Tokenizer tok) {
        if (request.promptIds().isPresent()) {
            int[] ids = request.promptIds().get();
            for (int id : ids) {
                if (id < 0 || id >= tok.vocabSize()) {
                    throw new IllegalArgumentException("prompt token id " + id + " outside 0.." + (tok.vocabSize() - 1));
                }
            }
            return ids;
        }
        if (request.promptText().isPresent()) {
            return tok.encode(request.promptText().get(), true, false);
        }
        List<Message> messages = request.messages().orElseThrow();
        ChatTemplate template = model.chatTemplate().orElseThrow(
                () -> new UnsupportedModelException("the model has no usable chat template"));
        Map<String, Object> extra = new LinkedHashMap<>();
        tok.bos().ifPresent(b -> extra.put("bos_token", tok.decode(b)));
        tok.eos().ifPresent(e -> extra.put("eos_token", tok.decode(e)));
        String rendered = template.render(messages, request.tools().orElse(null), true, extra);
        int[] ids = tok.encode(rendered, false, true);
        int[] special = tok.encode("", true, false);   // what the vocabulary adds: BOS or nothing
        if (special.length == 1 && (ids.length == 0 || ids[0] != special[0])) {
            int[] withBos = new int[ids.length + 1];
            withBos[0] = special[0];
            System.arraycopy(ids, 0, withBos, 1, ids.length);
            return withBos;
        }
        return ids;
    }

    /** The most likely token, the lowest id on ties. */
    static int argmax(float[] logits) {
        int best = 0;
        for (int i = 1; i < logits.length; i++) {
            if (logits[i] > logits[best]) {
                best = i;
            }
        }
        return best;
    }

    /** log softmax(logits)[id]. */
    static double logSoftmaxAt(float[] logits, int id) {
        return logits[id] - io.trillium.sample.LogProbs.logSumExp(logits);
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("session is closed");
        }
        if (model.isClosed()) {
            throw new IllegalStateException("model is closed");
        }
    }

    /**
     * Closes the session and frees its cache outside the heap (a GPU's KV cache) — at once, or when a
     * generation running in it returns (it is asked to stop). Idempotent.
     */
    @Override
    public void close() {
        closed = true;
        cancelRequested = true;
        if (busy.tryLock()) {
            try {
                state.close();
            } finally {
                busy.unlock();
            }
        }
    }

    /** Holds back text that may be the start of a stop string; finds stop strings split across tokens. */
    static final class StopMatcher {
        private final List<String> stops;
        private String held = "";
        private String released = "";

        StopMatcher(List<String> stops) {
            this.stops = stops;
        }

        /** Adds text; returns whether a stop string was reached. {@link #released()} then holds the text before it. */
        boolean accept(String piece, boolean end) {
            String s = held + piece;
            int first = -1;
            for (String stop : stops) {
                int i = s.indexOf(stop);
                if (i >= 0 && (first < 0 || i < first)) {
                    first = i;
                }
            }
            if (first >= 0) {
                held = "";
                released = s.substring(0, first);
                return true;
            }
            int keep = 0;
            if (!end) {
                for (String stop : stops) {
                    for (int len = Math.min(stop.length() - 1, s.length()); len > keep; len--) {
                        if (s.regionMatches(s.length() - len, stop, 0, len)) {
                            keep = len;
                            break;
                        }
                    }
                }
            }
            held = s.substring(s.length() - keep);
            released = s.substring(0, s.length() - keep);
            return false;
        }

        String released() {
            return released;
        }
    }
}
