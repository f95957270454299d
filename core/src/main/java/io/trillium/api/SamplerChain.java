package io.trillium.api;

import io.trillium.sample.Draw;
import io.trillium.sample.Greedy;
import io.trillium.sample.LogitBias;
import io.trillium.sample.LogitsProcessor;
import io.trillium.sample.MinP;
import io.trillium.sample.Penalties;
import io.trillium.sample.Sampler;
import io.trillium.sample.SamplingContext;
import io.trillium.sample.Temperature;
import io.trillium.sample.TopK;
import io.trillium.sample.TopP;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * An immutable sampling configuration that is itself a {@link Sampler}. Each {@code with}-style method
 * returns a new chain; the order of the calls does not matter, because the stages always run in
 * llama.cpp's default order:
 * <pre>penalties → logit bias → top-k → top-p → min-p → temperature → draw</pre>
 * A temperature {@code <= 0} ends the chain with {@link Greedy} instead of the random draw (the
 * filters before it still apply). Randomness comes only from {@link SamplingContext#random()}, so the
 * request's seed decides reproducibility. Stateless: one chain may serve many sessions at once.
 *
 * <p>Defaults (every stage disabled): temperature 1, top-k 0, top-p 1, min-p 0, repeat penalty 1,
 * frequency and presence 0, penalty window 64 (llama.cpp's {@code --repeat-last-n}), no bias.
 *
 * <p>Obtain one from {@link Samplers}: {@code Samplers.topP(0.95).temperature(0.6)}.
 */
public final class SamplerChain implements Sampler {
    /** llama.cpp's default penalty window. */
    public static final int DEFAULT_PENALTY_LAST_N = 64;

    private final float temperature;
    private final int topK;
    private final double topP;
    private final double minP;
    private final float repeatPenalty;
    private final float frequencyPenalty;
    private final float presencePenalty;
    private final int penaltyLastN;
    private final Map<Integer, Float> logitBias;
    // derived once, so sample() allocates nothing
    private final LogitsProcessor[] stages;
    private final Sampler last;

    static final SamplerChain DEFAULT = new SamplerChain(1f, 0, 1.0, 0.0, 1f, 0f, 0f, DEFAULT_PENALTY_LAST_N, Map.of());

    private SamplerChain(float temperature, int topK, double topP, double minP, float repeatPenalty,
                         float frequencyPenalty, float presencePenalty, int penaltyLastN,
                         Map<Integer, Float> logitBias) {
        this.temperature = temperature;
        this.topK = topK;
        this.topP = topP;
        this.minP = minP;
        this.repeatPenalty = repeatPenalty;
        this.frequencyPenalty = frequencyPenalty;
        this.presencePenalty = presencePenalty;
        this.penaltyLastN = penaltyLastN;
        this.logitBias = logitBias;
        this.stages = buildProcessors(false).toArray(LogitsProcessor[]::new);
        this.last = temperature <= 0f ? Greedy.INSTANCE : Draw.INSTANCE;
    }

    private List<LogitsProcessor> buildProcessors(boolean withGreedyTemperature) {
        List<LogitsProcessor> out = new ArrayList<>();
        Penalties penalties = new Penalties(penaltyLastN, repeatPenalty, frequencyPenalty, presencePenalty);
        if (!penalties.isNoop()) out.add(penalties);
        if (!logitBias.isEmpty()) out.add(new LogitBias(logitBias));
        if (topK > 0) out.add(new TopK(topK));
        if (topP < 1.0) out.add(new TopP(topP));
        if (minP > 0.0) out.add(new MinP(minP));
        // at T <= 0 the chain ends in Greedy, so the masking Temperature stage is only needed when a
        // caller takes the processors and supplies its own final draw
        if (temperature != 1f && (temperature > 0f || withGreedyTemperature)) out.add(new Temperature(temperature));
        return out;
    }

    @Override
    public int sample(float[] logits, SamplingContext context) {
        for (LogitsProcessor p : stages) p.process(logits, context);
        return last.sample(logits, context);
    }

    /**
     * The enabled stages, in chain order, for callers who compose their own sampler: applying them
     * and then {@link Draw} picks the same distribution as this chain (at T &lt;= 0 the list ends in a
     * masking {@link Temperature}, so any draw is greedy). Unmodifiable.
     */
    public List<LogitsProcessor> processors() {
        return Collections.unmodifiableList(buildProcessors(true));
    }

    /** The final sampler: {@link Greedy} when temperature &lt;= 0, else {@link Draw}. */
    public Sampler finalSampler() {
        return last;
    }

    private SamplerChain copy(float temperature, int topK, double topP, double minP, float repeatPenalty,
                              float frequencyPenalty, float presencePenalty, int penaltyLastN,
                              Map<Integer, Float> logitBias) {
        return new SamplerChain(temperature, topK, topP, minP, repeatPenalty, frequencyPenalty,
                presencePenalty, penaltyLastN, logitBias);
    }

    /** Divides logits by {@code t}; {@code t <= 0} means greedy. */
    public SamplerChain temperature(double t) {
        if (Double.isNaN(t)) throw new IllegalArgumentException("temperature is NaN");
        return copy((float) t, topK, topP, minP, repeatPenalty, frequencyPenalty, presencePenalty, penaltyLastN, logitBias);
    }

    /** Keeps the {@code k} best tokens; {@code k <= 0} disables. */
    public SamplerChain topK(int k) {
        return copy(temperature, k, topP, minP, repeatPenalty, frequencyPenalty, presencePenalty, penaltyLastN, logitBias);
    }

    /** Nucleus: keeps the smallest set with mass {@code >= p}; {@code p >= 1} disables. */
    public SamplerChain topP(double p) {
        new TopP(p); // validates
        return copy(temperature, topK, p, minP, repeatPenalty, frequencyPenalty, presencePenalty, penaltyLastN, logitBias);
    }

    /** Drops tokens with {@code p < minP · p_max}; {@code minP <= 0} disables. */
    public SamplerChain minP(double minP) {
        new MinP(minP);
        return copy(temperature, topK, topP, minP, repeatPenalty, frequencyPenalty, presencePenalty, penaltyLastN, logitBias);
    }

    /** llama.cpp repetition penalty ({@code > 1} discourages repeats); {@code 1} disables. */
    public SamplerChain repetitionPenalty(double penalty) {
        return penalties(penaltyLastN, (float) penalty, frequencyPenalty, presencePenalty);
    }

    /** OpenAI frequency penalty: {@code logit -= frequency · count}; {@code 0} disables. */
    public SamplerChain frequencyPenalty(double frequency) {
        return penalties(penaltyLastN, repeatPenalty, (float) frequency, presencePenalty);
    }

    /** OpenAI presence penalty: {@code logit -= presence} if seen; {@code 0} disables. */
    public SamplerChain presencePenalty(double presence) {
        return penalties(penaltyLastN, repeatPenalty, frequencyPenalty, (float) presence);
    }

    /** Window of the penalties: the last {@code n} tokens; {@code n < 0} all, {@code 0} disables. */
    public SamplerChain penaltyLastN(int n) {
        return penalties(n, repeatPenalty, frequencyPenalty, presencePenalty);
    }

    private SamplerChain penalties(int lastN, float repeat, float frequency, float presence) {
        new Penalties(lastN, repeat, frequency, presence); // validates
        return copy(temperature, topK, topP, minP, repeat, frequency, presence, lastN, logitBias);
    }

    /** Adds (or replaces) a bias for token {@code id}; {@code Float.NEGATIVE_INFINITY} bans it. */
    public SamplerChain logitBias(int id, float bias) {
        Map<Integer, Float> m = new HashMap<>(logitBias);
        m.put(id, bias);
        return logitBias(m);
    }

    /** Replaces the whole bias map (id → bias). */
    public SamplerChain logitBias(Map<Integer, Float> bias) {
        new LogitBias(bias); // validates
        return copy(temperature, topK, topP, minP, repeatPenalty, frequencyPenalty, presencePenalty, penaltyLastN,
                Map.copyOf(bias));
    }

    public float temperature() { return temperature; }
    public int topK() { return topK; }
    public double topP() { return topP; }
    public double minP() { return minP; }
    public float repetitionPenalty() { return repeatPenalty; }
    public float frequencyPenalty() { return frequencyPenalty; }
    public float presencePenalty() { return presencePenalty; }
    public int penaltyLastN() { return penaltyLastN; }
    public Map<Integer, Float> logitBias() { return logitBias; }

    /** Chains with the same settings are equal (and sample identically). */
    @Override
    public boolean equals(Object o) {
        return o instanceof SamplerChain c && Float.compare(temperature, c.temperature) == 0 && topK == c.topK
                && Double.compare(topP, c.topP) == 0 && Double.compare(minP, c.minP) == 0
                && Float.compare(repeatPenalty, c.repeatPenalty) == 0
                && Float.compare(frequencyPenalty, c.frequencyPenalty) == 0
                && Float.compare(presencePenalty, c.presencePenalty) == 0
                && penaltyLastN == c.penaltyLastN && logitBias.equals(c.logitBias);
    }

    @Override
    public int hashCode() {
        return java.util.Objects.hash(temperature, topK, topP, minP, repeatPenalty, frequencyPenalty,
                presencePenalty, penaltyLastN, logitBias);
    }

    @Override
    public String toString() {
        return "SamplerChain" + processors() + " → " + last;
    }
}
