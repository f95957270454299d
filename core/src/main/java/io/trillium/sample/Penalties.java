package io.trillium.sample;


/**
 * Repetition, frequency and presence penalties over the last {@code lastN} tokens of the sequence
 * (prompt included, as in llama.cpp; {@code lastN < 0} means the whole sequence, {@code 0} disables).
 * For each distinct token {@code t} seen {@code c > 0} times in the window:
 * <ul>
 *   <li>repetition (llama.cpp / CTRL): {@code l > 0 ? l / repeat : l * repeat}; {@code 1} disables;</li>
 *   <li>then OpenAI-style: {@code l -= presence + frequency * c}; {@code 0} disables.</li>
 * </ul>
 * Tokens outside the vocabulary are ignored. Stateless; per-thread scratch.
 */
public record Penalties(int lastN, float repeat, float frequency, float presence) implements LogitsProcessor {
    /** Checks the window and penalty values. */
    public Penalties {
        if (!(repeat > 0)) throw new IllegalArgumentException("repeat penalty must be > 0: " + repeat);
        if (!Float.isFinite(frequency) || !Float.isFinite(presence))
            throw new IllegalArgumentException("frequency/presence must be finite");
    }

    /** llama.cpp's repetition penalty alone over the last {@code lastN} tokens. */
    public static Penalties repetition(int lastN, float repeat) {
        return new Penalties(lastN, repeat, 0f, 0f);
    }

    /** OpenAI-style frequency and presence penalties alone over the last {@code lastN} tokens. */
    public static Penalties openAi(int lastN, float frequency, float presence) {
        return new Penalties(lastN, 1f, frequency, presence);
    }

    /** True when it would change nothing. */
    public boolean isNoop() {
        return lastN == 0 || (repeat == 1f && frequency == 0f && presence == 0f);
    }

    @Override
    public void process(float[] logits, SamplingContext context) {
        if (isNoop()) return;
        int n = logits.length, total = context.tokenCount();
        int from = lastN < 0 ? 0 : Math.max(0, total - lastN);
        int[] counts = Scratch.counts(n);
        for (int i = from; i < total; i++) {
            int t = context.token(i);
            if (t >= 0 && t < n) counts[t]++;
        }
        // second pass visits each distinct token once and re-zeroes the shared scratch
        for (int i = from; i < total; i++) {
            int t = context.token(i);
            if (t < 0 || t >= n || counts[t] == 0) continue;
            int c = counts[t];
            counts[t] = 0;
            float l = logits[t];
            if (repeat != 1f) l = l > 0 ? l / repeat : l * repeat;
            logits[t] = l - (presence + frequency * c);
        }
    }
}
