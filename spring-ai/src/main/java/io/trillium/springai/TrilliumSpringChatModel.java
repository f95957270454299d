package io.trillium.springai;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.trillium.api.CancellationToken;
import io.trillium.api.GenerationRequest;
import io.trillium.api.GenerationResult;
import io.trillium.api.Model;
import io.trillium.api.SamplerChain;
import io.trillium.api.Samplers;
import io.trillium.api.Session;
import io.trillium.api.Token;
import io.trillium.chat.Message;
import io.trillium.chat.ToolCall;
import io.trillium.chat.ToolCalls;
import io.trillium.json.JsonSchema;
import org.springframework.ai.chat.messages.AssistantMessage;
import org.springframework.ai.chat.messages.SystemMessage;
import org.springframework.ai.chat.messages.ToolResponseMessage;
import org.springframework.ai.chat.messages.UserMessage;
import org.springframework.ai.chat.metadata.ChatGenerationMetadata;
import org.springframework.ai.chat.model.ChatModel;
import org.springframework.ai.chat.model.ChatResponse;
import org.springframework.ai.chat.model.Generation;
import org.springframework.ai.chat.prompt.ChatOptions;
import org.springframework.ai.chat.prompt.Prompt;
import org.springframework.ai.model.tool.StructuredOutputChatOptions;
import org.springframework.ai.model.tool.ToolCallingChatOptions;
import org.springframework.ai.tool.ToolCallback;
import org.springframework.ai.tool.definition.ToolDefinition;
import reactor.core.publisher.Flux;
import reactor.core.scheduler.Schedulers;

import java.io.IOException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A Spring AI {@link ChatModel} (with {@link #stream streaming}) over a Trillium {@link Model}.
 *
 * <p>Options come from the prompt's {@link ChatOptions} (temperature, top-p, top-k, max tokens, stop
 * sequences, frequency and presence penalty), else from this model's defaults ({@link Builder}). An
 * output schema ({@link StructuredOutputChatOptions#getOutputSchema()} on the prompt, or
 * {@link Builder#outputSchema}) constrains generation token by token, so the reply always parses and
 * matches it. Tool callbacks ({@link ToolCallingChatOptions}, or {@link Builder#toolCallbacks}) are
 * rendered by the model's chat template; calls the model writes come back as the assistant message's
 * tool calls with finish reason {@code TOOL_CALLS}, for the caller (or a Spring AI
 * {@code ToolCallingManager}) to execute; this model does not run tools itself.
 *
 * <p>Thread-safe: each call takes a session from a pool (growing to the number of concurrent calls),
 * and concurrent calls decode together in one batched pass of the model. Closing this adapter frees
 * the sessions, not the model.
 */
public final class TrilliumSpringChatModel implements ChatModel, AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final Model model;
    private final ChatOptions defaults;
    private final List<ToolCallback> defaultTools;
    private final String defaultSchema;
    private final long seed;
    private final int contextLength;
    private final ArrayDeque<Session> idle = new ArrayDeque<>();   // guarded by itself
    private boolean closed;                                        // guarded by idle

    private TrilliumSpringChatModel(Builder b) {
        this.model = Objects.requireNonNull(b.model, "model");
        this.defaults = ChatOptions.builder().temperature(b.temperature).topP(b.topP).topK(b.topK).maxTokens(b.maxTokens)
                .stopSequences(b.stop).build();
        this.defaultTools = List.copyOf(b.tools);
        this.defaultSchema = b.outputSchema;
        this.seed = b.seed;
        this.contextLength = b.contextLength;
        if (defaultSchema != null) {
            JsonSchema.compile(defaultSchema);   // a bad default fails at build time, not at the first call
        }
    }

    public static Builder builder() {
        return new Builder();
    }

    @Override
    public ChatOptions getDefaultOptions() {
        return defaults;
    }

    @Override
    public ChatResponse call(Prompt prompt) {
        Session s = take();
        try {
            GenerationRequest request = toGenerationRequest(prompt, null);
            return response(s.generate(request), request);
        } finally {
            give(s);
        }
    }

    /** Streams one {@link ChatResponse} per piece of text, then one with the finish reason (and tool calls). Cancelling stops generation. */
    @Override
    public Flux<ChatResponse> stream(Prompt prompt) {
        return Flux.<ChatResponse>create(sink -> {
            CancellationToken cancel = new CancellationToken();
            sink.onCancel(cancel::cancel);
            Session s = take();
            try {
                GenerationRequest request = toGenerationRequest(prompt, cancel);
                boolean tools = request.tools().isPresent();
                GenerationResult r = s.generate(request, (Token t) -> {
                    if (!tools && !t.text().isEmpty()) {   // with tools, calls are only known at the end
                        sink.next(new ChatResponse(List.of(new Generation(new AssistantMessage(t.text())))));
                    }
                });
                ChatResponse last = response(r, request);
                if (!tools) {
                    last = new ChatResponse(List.of(new Generation(new AssistantMessage(""), last.getResult().getMetadata())));
                }
                sink.next(last);
                sink.complete();
            } catch (RuntimeException e) {
                sink.error(e);
            } finally {
                give(s);
            }
        }).subscribeOn(Schedulers.boundedElastic());
    }

    /** The generation a prompt asks for: its options over this model's defaults. */
    GenerationRequest toGenerationRequest(Prompt prompt, CancellationToken cancel) {
        ChatOptions o = prompt.getOptions();
        SamplerChain sampler = Samplers.builder();
        Double temperature = pick(o == null ? null : o.getTemperature(), defaults.getTemperature());
        Double topP = pick(o == null ? null : o.getTopP(), defaults.getTopP());
        Integer topK = pick(o == null ? null : o.getTopK(), defaults.getTopK());
        if (temperature != null) sampler = sampler.temperature(temperature);
        if (topP != null) sampler = sampler.topP(topP);
        if (topK != null) sampler = sampler.topK(topK);
        if (o != null && o.getFrequencyPenalty() != null) sampler = sampler.frequencyPenalty(o.getFrequencyPenalty());
        if (o != null && o.getPresencePenalty() != null) sampler = sampler.presencePenalty(o.getPresencePenalty());
        GenerationRequest.Builder b = GenerationRequest.builder().messages(toMessages(prompt.getInstructions()))
                .sampler(sampler).seed(seed).cancellation(cancel);
        Integer max = pick(o == null ? null : o.getMaxTokens(), defaults.getMaxTokens());
        if (max != null) b.maxTokens(max);
        List<String> stop = pick(o == null ? null : o.getStopSequences(), defaults.getStopSequences());
        if (stop != null && !stop.isEmpty()) b.stop(stop.toArray(String[]::new));
        String schema = o instanceof StructuredOutputChatOptions so && so.getOutputSchema() != null ? so.getOutputSchema() : defaultSchema;
        if (schema != null) b.responseFormat(JsonSchema.compile(schema));
        List<ToolCallback> callbacks = o instanceof ToolCallingChatOptions tc && tc.getToolCallbacks() != null
                && !tc.getToolCallbacks().isEmpty() ? tc.getToolCallbacks() : defaultTools;
        if (!callbacks.isEmpty()) {
            List<Object> tools = new ArrayList<>();
            for (ToolCallback cb : callbacks) {
                tools.add(tool(cb.getToolDefinition()));
            }
            b.tools(tools);
        }
        return b.build();
    }

    private static Map<String, Object> tool(ToolDefinition d) {
        Map<String, Object> function = new LinkedHashMap<>();
        function.put("name", d.name());
        if (d.description() != null) {
            function.put("description", d.description());
        }
        try {
            function.put("parameters", d.inputSchema() == null || d.inputSchema().isBlank() ? Map.of("type", "object")
                    : JSON.readValue(d.inputSchema(), Map.class));
        } catch (IOException e) {
            throw new IllegalArgumentException("tool '" + d.name() + "': its input schema is not JSON: " + e.getMessage(), e);
        }
        return Map.of("type", "function", "function", function);
    }

    static List<Message> toMessages(List<org.springframework.ai.chat.messages.Message> messages) {
        List<Message> out = new ArrayList<>();
        for (org.springframework.ai.chat.messages.Message m : messages) {
            switch (m) {
                case SystemMessage s -> out.add(Message.system(s.getText()));
                case UserMessage u -> {
                    if (u.getMedia() != null && !u.getMedia().isEmpty()) {
                        throw new UnsupportedOperationException("media in user messages is not supported");
                    }
                    out.add(Message.user(u.getText()));
                }
                case AssistantMessage a when a.hasToolCalls() -> {
                    List<ToolCall> calls = new ArrayList<>();
                    for (AssistantMessage.ToolCall c : a.getToolCalls()) {
                        calls.add(new ToolCall(c.id(), c.name(), calls.size(), c.arguments()));
                    }
                    out.add(Message.assistant(a.getText(), calls));
                }
                case AssistantMessage a -> out.add(Message.assistant(a.getText() == null ? "" : a.getText()));
                case ToolResponseMessage t -> {
                    for (ToolResponseMessage.ToolResponse r : t.getResponses()) {
                        out.add(Message.tool(r.id(), r.name(), r.responseData()));
                    }
                }
                default -> throw new UnsupportedOperationException("unsupported message type " + m.getMessageType());
            }
        }
        return out;
    }

    private static ChatResponse response(GenerationResult r, GenerationRequest request) {
        String text = r.text();
        List<AssistantMessage.ToolCall> calls = new ArrayList<>();
        if (request.tools().isPresent()) {
            ToolCalls.Parsed p = ToolCalls.parse(text);
            for (ToolCall c : p.calls()) {
                calls.add(new AssistantMessage.ToolCall(c.id(), "function", c.name(), c.argumentsJson()));
            }
            if (!calls.isEmpty()) {
                text = p.content();
            }
        }
        String finish = !calls.isEmpty() ? "TOOL_CALLS" : switch (r.finishReason()) {
            case LENGTH -> "LENGTH";
            case STOP_TOKEN, STOP_STRING -> "STOP";
            case CANCELLED -> "CANCELLED";
        };
        AssistantMessage message = AssistantMessage.builder().content(text).toolCalls(calls).build();
        return new ChatResponse(List.of(new Generation(message, ChatGenerationMetadata.builder().finishReason(finish).build())));
    }

    private static <T> T pick(T fromPrompt, T fromDefaults) {
        return fromPrompt != null ? fromPrompt : fromDefaults;
    }

    private Session take() {
        synchronized (idle) {
            if (closed) {
                throw new IllegalStateException("the chat model is closed");
            }
            Session s = idle.pollFirst();
            if (s != null) {
                return s;
            }
        }
        return model.newSession(contextLength);
    }

    private void give(Session s) {
        synchronized (idle) {
            if (closed) {
                s.close();   // a call that ran across close(): its session is freed now
            } else {
                idle.addFirst(s);
            }
        }
    }

    /** Frees the pooled sessions (not the model); a call still running frees its session when it returns. */
    @Override
    public void close() {
        synchronized (idle) {
            closed = true;
            idle.forEach(Session::close);
            idle.clear();
        }
    }

    /** Configures a {@link TrilliumSpringChatModel}: the model and the defaults prompts may override. */
    public static final class Builder {
        private Model model;
        private Double temperature;
        private Double topP;
        private Integer topK;
        private Integer maxTokens;
        private List<String> stop;
        private final List<ToolCallback> tools = new ArrayList<>();
        private String outputSchema;
        private long seed;
        private int contextLength = 4096;

        private Builder() {
        }

        /** The loaded model (required). */
        public Builder model(Model model) {
            this.model = model;
            return this;
        }

        public Builder temperature(double temperature) {
            this.temperature = temperature;
            return this;
        }

        public Builder topP(double topP) {
            this.topP = topP;
            return this;
        }

        public Builder topK(int topK) {
            this.topK = topK;
            return this;
        }

        public Builder maxTokens(int maxTokens) {
            this.maxTokens = maxTokens;
            return this;
        }

        public Builder stop(String... stop) {
            this.stop = List.of(stop);
            return this;
        }

        /** Tools offered to every prompt that brings none of its own. */
        public Builder toolCallbacks(ToolCallback... callbacks) {
            tools.addAll(List.of(callbacks));
            return this;
        }

        /** A JSON Schema every reply must match unless the prompt brings its own. */
        public Builder outputSchema(String jsonSchema) {
            this.outputSchema = jsonSchema;
            return this;
        }

        /** The sampling seed of every call; default 0. */
        public Builder seed(long seed) {
            this.seed = seed;
            return this;
        }

        /** Context of each pooled session in tokens; default 4096. */
        public Builder contextLength(int contextLength) {
            this.contextLength = contextLength;
            return this;
        }

        public TrilliumSpringChatModel build() {
            return new TrilliumSpringChatModel(this);
        }
    }
}
