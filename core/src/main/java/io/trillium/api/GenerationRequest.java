package io.trillium.api;

import io.trillium.chat.Message;
import io.trillium.json.JsonSchema;
import io.trillium.sample.LogitsProcessor;
import io.trillium.sample.Sampler;
import io.trillium.sample.SamplingContext;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * What to generate: a prompt (raw text, token ids, or chat messages), a length limit, stop strings,
 * and how to pick tokens (logits processors, a sampler, a seed). Immutable; build with
 * {@link #builder()}.
 *
 * <ul>
 * <li>Text prompts are encoded with the model's special tokens (BOS when the vocabulary adds one);
 *     special-token text in them is <i>not</i> parsed.</li>
 * <li>Message prompts are rendered with the model's chat template (generation prompt opened) and
 *     encoded with special tokens parsed.</li>
 * <li>Id prompts are fed as they are.</li>
 * </ul>
 */
public final class GenerationRequest {
    /** The default {@link #maxTokens()}. */
    public static final int DEFAULT_MAX_TOKENS = 256;

    private final String text;
    private final int[] ids;
    private final List<Message> messages;
    private final int maxTokens;
    private final List<String> stopStrings;
    private final Sampler sampler;
    private final List<LogitsProcessor> processors;
    private final long seed;
    private final CancellationToken cancellation;
    private final JsonSchema responseFormat;
    private final List<?> tools;

    private GenerationRequest(Builder b) {
        int kinds = (b.text != null ? 1 : 0) + (b.ids != null ? 1 : 0) + (b.messages != null ? 1 : 0);
        if (kinds != 1) {
            throw new IllegalArgumentException("exactly one of prompt(String), prompt(int[]), messages(List) must be set");
        }
        if (b.maxTokens < 1) {
            throw new IllegalArgumentException("maxTokens must be >= 1: " + b.maxTokens);
        }
        this.text = b.text;
        this.ids = b.ids == null ? null : b.ids.clone();
        this.messages = b.messages == null ? null : List.copyOf(b.messages);
        this.maxTokens = b.maxTokens;
        for (String s : b.stopStrings) {
            if (s.isEmpty()) {
                throw new IllegalArgumentException("empty stop string");
            }
        }
        this.stopStrings = List.copyOf(b.stopStrings);
        this.sampler = b.sampler;
        this.processors = List.copyOf(b.processors);
        this.seed = b.seed;
        this.cancellation = b.cancellation;
        this.responseFormat = b.responseFormat;
        this.tools = b.tools;
    }

    /** A new builder. */
    public static Builder builder() {
        return new Builder();
    }

    /** A builder with this request's settings. */
    public Builder toBuilder() {
        Builder b = new Builder();
        b.text = text;
        b.ids = ids;
        b.messages = messages;
        b.maxTokens = maxTokens;
        b.stopStrings.addAll(stopStrings);
        b.sampler = sampler;
        b.processors.addAll(processors);
        b.seed = seed;
        b.cancellation = cancellation;
        b.responseFormat = responseFormat;
        b.tools = tools;
        return b;
    }

    /** The raw-text prompt, if the prompt is text. */
    public Optional<String> promptText() {
        return Optional.ofNullable(text);
    }

    /** The prompt ids, if the prompt is ids (a copy). */
    public Optional<int[]> promptIds() {
        return Optional.ofNullable(ids == null ? null : ids.clone());
    }

    /** The chat messages, if the prompt is a conversation. */
    public Optional<List<Message>> messages() {
        return Optional.ofNullable(messages);
    }

    /** Most tokens to generate. */
    public int maxTokens() {
        return maxTokens;
    }

    /** Strings that end the generation when the output reaches them (they are not part of the output). */
    public List<String> stopStrings() {
        return stopStrings;
    }

    /** The sampler; {@code null}: greedy (the most likely token, the lowest id on ties). */
    public Sampler sampler() {
        return sampler;
    }

    /** Processors applied in order to the logits before the sampler. */
    public List<LogitsProcessor> logitsProcessors() {
        return processors;
    }

    /** Seed of the {@link SamplingContext#random()} generator. */
    public long seed() {
        return seed;
    }

    /** The cancellation token, or {@code null}. */
    public CancellationToken cancellation() {
        return cancellation;
    }

    /** The JSON Schema the output must match, if constrained (see {@link Builder#responseFormat}). */
    public Optional<JsonSchema> responseFormat() {
        return Optional.ofNullable(responseFormat);
    }

    /** The tool definitions rendered into a message prompt by the chat template, if any. */
    public Optional<List<?>> tools() {
        return Optional.ofNullable(tools);
    }

    /** Builds a {@link GenerationRequest}. Not thread-safe. */
    public static final class Builder {
        private String text;
        private int[] ids;
        private List<Message> messages;
        private int maxTokens = DEFAULT_MAX_TOKENS;
        private final List<String> stopStrings = new ArrayList<>();
        private Sampler sampler;
        private final List<LogitsProcessor> processors = new ArrayList<>();
        private long seed;
        private CancellationToken cancellation;
        private JsonSchema responseFormat;
        private List<?> tools;

        private Builder() {
        }

        /** A raw-text prompt (replaces any other prompt). */
        public Builder prompt(String text) {
            this.text = Objects.requireNonNull(text, "text");
            this.ids = null;
            this.messages = null;
            return this;
        }

        /** A prompt of token ids (replaces any other prompt). */
        public Builder prompt(int... ids) {
            if (ids.length == 0) {
                throw new IllegalArgumentException("empty prompt");
            }
            this.ids = ids.clone();
            this.text = null;
            this.messages = null;
            return this;
        }

        /** A conversation rendered with the model's chat template (replaces any other prompt). */
        public Builder messages(List<Message> messages) {
            if (messages.isEmpty()) {
                throw new IllegalArgumentException("no messages");
            }
            this.messages = List.copyOf(messages);
            this.text = null;
            this.ids = null;
            return this;
        }

        /** Most tokens to generate (default {@value GenerationRequest#DEFAULT_MAX_TOKENS}). */
        public Builder maxTokens(int maxTokens) {
            this.maxTokens = maxTokens;
            return this;
        }

        /** Adds stop strings. */
        public Builder stop(String... strings) {
            for (String s : strings) {
                stopStrings.add(Objects.requireNonNull(s));
            }
            return this;
        }

        /** The sampler ({@code null}: greedy). */
        public Builder sampler(Sampler sampler) {
            this.sampler = sampler;
            return this;
        }

        /** Adds a logits processor (applied in the order added). */
        public Builder logitsProcessor(LogitsProcessor processor) {
            processors.add(Objects.requireNonNull(processor));
            return this;
        }

        /** Seed of the sampling random generator (default 0). */
        public Builder seed(long seed) {
            this.seed = seed;
            return this;
        }

        /** A token another thread may use to cancel this generation. */
        public Builder cancellation(CancellationToken token) {
            this.cancellation = token;
            return this;
        }

        /**
         * Constrains the output to one JSON document matching {@code schema} ({@code null}: free text).
         * Every token is chosen among those that keep the document valid and finishable within the
         * tokens left, so the output parses and validates whenever {@link #maxTokens} is at least the
         * schema's {@link JsonSchema#minBytes()} (else {@code generate} throws
         * {@link IllegalArgumentException}); it ends with {@link FinishReason#STOP_TOKEN} once complete.
         * Runs after the logits processors, before the sampler. Stop strings do not apply under a response
         * format (they could only cut the document short).
         */
        public Builder responseFormat(JsonSchema schema) {
            this.responseFormat = schema;
            return this;
        }

        /**
         * Tool definitions for a message prompt, in the OpenAI shape the chat templates expect
         * ({@code {"type": "function", "function": {"name", "description", "parameters"}}} as maps and
         * lists); the template renders them (e.g. into Kimi's system turn). {@code null}: none.
         */
        public Builder tools(List<?> tools) {
            this.tools = tools == null ? null : List.copyOf(tools);
            return this;
        }

        /** The request. */
        public GenerationRequest build() {
            return new GenerationRequest(this);
        }
    }
}
