package io.trillium.json;

import java.util.Arrays;

/**
 * One generation's JSON document, constrained token by token: before each token {@link #mask} sets
 * to −∞ the logits of every token whose bytes would leave the schema, or would leave a document that
 * cannot be finished in the tokens left; {@link #accept} then advances over the chosen one. Since the
 * state always keeps a way to finish within the budget (every byte on that way is a token of its own
 * in the byte-level vocabularies this runs on), the output is a whole, valid document whenever the
 * budget covers the schema's shortest one ({@link #begin} checks that). Not thread-safe: one per generation.
 *
 * <p>Cost per token: one walk over the vocabulary in byte order ({@link VocabIndex}), stepping each
 * token's bytes after the prefix it shares with the previous token and skipping every token under a
 * rejected prefix: outside strings nearly everything is cut at the first byte, inside a string the
 * walk touches each distinct prefix once.
 */
public final class JsonConstraint {
    private final JsonSchema schema;
    private final VocabIndex vocab;
    private final int[] endIds;
    private final JsonMatcher.Out out = new JsonMatcher.Out();
    private final JsonMatcher.Config[][] atDepth;
    private final boolean[] allowed;
    private JsonMatcher.Config[] state;
    private int allowedCount;

    /**
     * @param endIds the model's end-of-generation tokens: allowed only once the document is complete
     */
    public JsonConstraint(JsonSchema schema, VocabIndex vocab, int[] endIds) {
        this.schema = schema;
        this.vocab = vocab;
        this.endIds = endIds.clone();
        this.atDepth = new JsonMatcher.Config[vocab.maxLength + 1][];
        this.allowed = new boolean[vocab.vocabSize];   // ids past the tokenizer's (a larger output head) are never allowed
        this.state = JsonMatcher.start(schema);
    }

    /**
     * Starts a document that must be finished within {@code maxTokens} tokens.
     *
     * @throws IllegalArgumentException the schema's shortest document needs more bytes than that (each
     *                                  byte counted as one token, the most it may take)
     */
    public void begin(int maxTokens) {
        state = JsonMatcher.start(schema);
        if (schema.minBytes() > maxTokens) {
            throw new IllegalArgumentException("maxTokens " + maxTokens + " leaves no room for the shortest document"
                    + " the response format allows (" + schema.minBytes() + " bytes, up to one token each)");
        }
    }

    /**
     * Sets to −∞ the logits of the tokens that may not come next.
     *
     * @param tokensLeft tokens that may still be generated, this one included (≥ 1)
     */
    public void mask(float[] logits, int tokensLeft) {
        computeAllowed(tokensLeft - 1);
        if (allowedCount == 0) {
            throw new IllegalStateException("no token can continue the JSON document within " + tokensLeft
                    + " tokens: the vocabulary lacks a single-byte token the shortest completion needs");
        }
        for (int id = 0; id < logits.length; id++) {
            if (id >= allowed.length || !allowed[id]) {
                logits[id] = Float.NEGATIVE_INFINITY;
            }
        }
    }

    /** Whether token {@code id} was allowed by the last {@link #mask}. */
    public boolean allowed(int id) {
        return id >= 0 && id < allowed.length && allowed[id];
    }

    /** Advances over the chosen token. @throws IllegalArgumentException it breaks the document */
    public void accept(int id) {
        if (isEnd(id)) {
            if (!complete()) {
                throw new IllegalArgumentException("end token " + id + " before the JSON document is complete");
            }
            return;
        }
        byte[] b = tokenBytes(id);
        JsonMatcher.Config[] s = state;
        for (int i = 0; i < b.length && s != null; i++) {
            s = JsonMatcher.advance(s, b[i] & 0xff, out);
        }
        if (s == null) {
            throw new IllegalArgumentException("token " + id + " does not continue the JSON document");
        }
        state = s;
    }

    /** Whether the document written so far is complete (it may end here). */
    public boolean complete() {
        return JsonMatcher.complete(state);
    }

    /** Whether the document is complete and nothing may follow it: the generation is done. */
    public boolean finished() {
        return JsonMatcher.finished(state);
    }

    /** Fewest bytes that still finish the document. */
    public int bytesToFinish() {
        return JsonMatcher.cost(state);
    }

    private boolean isEnd(int id) {
        for (int e : endIds) {
            if (e == id) {
                return true;
            }
        }
        return false;
    }

    private byte[] tokenBytes(int id) {
        byte[] b = vocab.bytesOf(id);
        if (b == null) {
            throw new IllegalArgumentException("token " + id + " is a control or unused token, never part of a JSON document");
        }
        return b;
    }

    /** Fills {@link #allowed}: tokens after which the document can still be finished in {@code budget} tokens. */
    private void computeAllowed(int budget) {
        Arrays.fill(allowed, false);
        int count = 0;
        boolean complete = complete();
        if (!finished()) {
            atDepth[0] = state;
            int dead = Integer.MAX_VALUE;   // tokens sharing at least this many bytes with a rejected prefix are skipped
            int[] ids = vocab.ids;
            byte[][] bytes = vocab.bytes;
            int[] shared = vocab.shared;
            for (int i = 0; i < ids.length; i++) {
                int from = shared[i];
                if (from >= dead) {
                    continue;
                }
                dead = Integer.MAX_VALUE;
                byte[] t = bytes[i];
                int d = from;
                for (; d < t.length; d++) {
                    JsonMatcher.Config[] s = JsonMatcher.advance(atDepth[d], t[d] & 0xff, out);
                    if (s == null) {
                        dead = d + 1;
                        break;
                    }
                    atDepth[d + 1] = s;
                }
                if (d == t.length && JsonMatcher.cost(atDepth[d]) <= budget && !allowed[ids[i]]) {
                    allowed[ids[i]] = true;
                    count++;
                }
            }
        }
        // end tokens end the document: allowed exactly when it is complete, whatever their bytes would spell
        // inside it (an end token found by its text, e.g. "[EOS]", may be an ordinary token to the walk)
        for (int e : endIds) {
            if (e >= 0 && e < allowed.length && allowed[e] != complete) {
                allowed[e] = complete;
                count += complete ? 1 : -1;
            }
        }
        allowedCount = count;
    }
}
