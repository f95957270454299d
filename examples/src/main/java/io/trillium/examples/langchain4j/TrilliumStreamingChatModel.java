package io.trillium.examples.langchain4j;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.langchain4j.agent.tool.ToolExecutionRequest;
import dev.langchain4j.agent.tool.ToolSpecification;
import dev.langchain4j.data.message.AiMessage;
import dev.langchain4j.data.message.ChatMessage;
import dev.langchain4j.data.message.SystemMessage;
import dev.langchain4j.data.message.ToolExecutionResultMessage;
import dev.langchain4j.data.message.UserMessage;
import dev.langchain4j.internal.JsonSchemaElementUtils;
import dev.langchain4j.model.chat.Capability;
import dev.langchain4j.model.chat.StreamingChatModel;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.request.ChatRequestParameters;
import dev.langchain4j.model.chat.request.ResponseFormat;
import dev.langchain4j.model.chat.request.ResponseFormatType;
import dev.langchain4j.model.chat.request.ToolChoice;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.model.chat.response.StreamingChatResponseHandler;
import dev.langchain4j.model.output.FinishReason;
import dev.langchain4j.model.output.TokenUsage;
import io.trillium.api.GenerationRequest;
import io.trillium.api.GenerationResult;
import io.trillium.api.Metrics;
import io.trillium.api.Model;
import io.trillium.api.SamplerChain;
import io.trillium.api.Samplers;
import io.trillium.api.Session;
import io.trillium.chat.Message;
import io.trillium.chat.ToolCall;
import io.trillium.chat.ToolCalls;
import io.trillium.json.JsonSchema;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * A LangChain4j {@link StreamingChatModel} backed by a Trillium {@link Model}.
 *
 * <p>Maps system, user, AI and tool-result messages to {@link Message}s (rendered with the model's
 * chat template), and the request parameters temperature, top-p, top-k, frequency and presence
 * penalty, max output tokens and stop sequences to the {@link GenerationRequest}; parameters missing
 * from a request come from {@link #defaultRequestParameters()}.
 *
 * <p>JSON response formats are generated under Trillium's schema constraint (the reply always parses
 * and matches the schema; {@link Capability#RESPONSE_FORMAT_JSON_SCHEMA}). Tool specifications are
 * rendered by the model's chat template, and calls the model writes in its template's format (Kimi's
 * sections, {@code <tool_call>} blocks) come back as {@link ToolExecutionRequest}s; tool choice
 * {@code REQUIRED} is not supported and is reported through {@code onError}, as are other requests
 * the adapter cannot honour.
 *
 * <p>{@link #chat(ChatRequest, StreamingChatResponseHandler)} runs the generation on the calling
 * thread and returns after the handler's {@code onCompleteResponse} or {@code onError}. The model
 * keeps one {@link Session}, so consecutive turns of one conversation reuse its KV cache; concurrent
 * calls are serialised. The adapter does not own the {@link Model}: close both when done.
 */
public final class TrilliumStreamingChatModel implements StreamingChatModel, AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final Model model;
    private final ChatRequestParameters defaults;
    private final long seed;
    private final Session session;

    private TrilliumStreamingChatModel(Builder b) {
        this.model = Objects.requireNonNull(b.model, "model");
        this.defaults = b.defaults;
        this.seed = b.seed;
        this.session = model.newSession();
    }

    public static Builder builder() {
        return new Builder();
    }

    @Override
    public ChatRequestParameters defaultRequestParameters() {
        return defaults;
    }

    @Override
    public Set<Capability> supportedCapabilities() {
        return Set.of(Capability.RESPONSE_FORMAT_JSON_SCHEMA);
    }

    @Override
    public void doChat(ChatRequest request, StreamingChatResponseHandler handler) {
        GenerationResult result;
        try {
            GenerationRequest generation = toGenerationRequest(request);
            // with tools the reply may hold a call in the template's markup: it is parsed at the end, and the
            // partial responses then carry only the content (one piece), never the markup
            boolean tools = generation.tools().isPresent();
            synchronized (session) {
                result = session.generate(generation, token -> {
                    if (!tools && !token.text().isEmpty()) handler.onPartialResponse(token.text());
                });
            }
        } catch (RuntimeException e) {
            handler.onError(e);
            return;
        }
        Metrics m = result.metrics();
        AiMessage message = AiMessage.from(result.text());
        FinishReason finish = finishReason(result.finishReason());
        List<ToolSpecification> specs = request.parameters().toolSpecifications();
        if (specs != null && !specs.isEmpty()) {
            ToolCalls.Parsed parsed = ToolCalls.parse(result.text());
            if (!parsed.calls().isEmpty()) {
                List<ToolExecutionRequest> calls = new ArrayList<>();
                for (ToolCall c : parsed.calls()) {
                    calls.add(ToolExecutionRequest.builder().id(c.id()).name(c.name()).arguments(c.argumentsJson()).build());
                }
                message = parsed.content().isEmpty() ? AiMessage.from(calls) : AiMessage.from(parsed.content(), calls);
                finish = FinishReason.TOOL_EXECUTION;
            }
            if (message.text() != null && !message.text().isEmpty()) {
                handler.onPartialResponse(message.text());
            }
        }
        handler.onCompleteResponse(ChatResponse.builder()
                .aiMessage(message)
                .finishReason(finish)
                .tokenUsage(new TokenUsage(m.promptTokens() + m.cachedPromptTokens(), m.generatedTokens()))
                .modelName(model.info().architecture())
                .build());
    }

    /** Translates a LangChain4j request (parameters already merged with the defaults). */
    GenerationRequest toGenerationRequest(ChatRequest request) {
        ChatRequestParameters p = request.parameters();
        List<Object> tools = null;
        if (p.toolSpecifications() != null && !p.toolSpecifications().isEmpty() && p.toolChoice() != ToolChoice.NONE) {
            if (p.toolChoice() == ToolChoice.REQUIRED) {
                throw new UnsupportedOperationException("tool choice REQUIRED is not supported (use AUTO; the server's"
                        + " tool_choice \"required\" forces calls)");
            }
            tools = new ArrayList<>();
            for (ToolSpecification t : p.toolSpecifications()) {
                Map<String, Object> function = new LinkedHashMap<>();
                function.put("name", t.name());
                if (t.description() != null) {
                    function.put("description", t.description());
                }
                function.put("parameters", t.parameters() == null ? Map.of("type", "object", "properties", Map.of())
                        : JsonSchemaElementUtils.toMap(t.parameters()));
                tools.add(Map.of("type", "function", "function", function));
            }
        }
        JsonSchema format = null;
        if (p.responseFormat() != null && p.responseFormat().type() == ResponseFormatType.JSON) {
            dev.langchain4j.model.chat.request.json.JsonSchema js = p.responseFormat().jsonSchema();
            format = js == null || js.rootElement() == null ? JsonSchema.anyObject()
                    : JsonSchema.compile(JSON.valueToTree(JsonSchemaElementUtils.toMap(js.rootElement())));
        }
        SamplerChain sampler = Samplers.builder();
        if (p.temperature() != null) sampler = sampler.temperature(p.temperature());
        if (p.topP() != null) sampler = sampler.topP(p.topP());
        if (p.topK() != null) sampler = sampler.topK(p.topK());
        if (p.frequencyPenalty() != null) sampler = sampler.frequencyPenalty(p.frequencyPenalty());
        if (p.presencePenalty() != null) sampler = sampler.presencePenalty(p.presencePenalty());
        GenerationRequest.Builder b = GenerationRequest.builder()
                .messages(toMessages(request.messages()))
                .sampler(sampler)
                .seed(seed)
                .tools(tools)
                .responseFormat(format);
        if (p.maxOutputTokens() != null) b.maxTokens(p.maxOutputTokens());
        if (p.stopSequences() != null && !p.stopSequences().isEmpty()) {
            b.stop(p.stopSequences().toArray(String[]::new));
        }
        return b.build();
    }

    static List<Message> toMessages(List<ChatMessage> messages) {
        List<Message> out = new ArrayList<>(messages.size());
        for (ChatMessage m : messages) {
            out.add(switch (m) {
                case SystemMessage s -> Message.system(s.text());
                case UserMessage u when u.hasSingleText() -> Message.user(u.singleText());
                case UserMessage u -> throw new UnsupportedOperationException("only text user messages are supported");
                case AiMessage a when a.hasToolExecutionRequests() -> {
                    List<ToolCall> calls = new ArrayList<>();
                    for (ToolExecutionRequest r : a.toolExecutionRequests()) {
                        calls.add(new ToolCall(r.id(), r.name(), calls.size(), r.arguments()));
                    }
                    yield Message.assistant(a.text(), calls);
                }
                case AiMessage a -> Message.assistant(a.text() == null ? "" : a.text());
                case ToolExecutionResultMessage t -> Message.tool(t.id(), t.toolName(), t.text());
                default -> throw new UnsupportedOperationException("unsupported message type " + m.type());
            });
        }
        return out;
    }

    static FinishReason finishReason(io.trillium.api.FinishReason reason) {
        return switch (reason) {
            case LENGTH -> FinishReason.LENGTH;
            case STOP_TOKEN, STOP_STRING -> FinishReason.STOP;
            case CANCELLED -> FinishReason.OTHER;
        };
    }

    /** Releases the session's KV cache (not the model). */
    @Override
    public void close() {
        synchronized (session) {
            session.close();
        }
    }

    /** Configures a {@link TrilliumStreamingChatModel}. */
    public static final class Builder {
        private Model model;
        private ChatRequestParameters defaults = ChatRequestParameters.builder().build();
        private long seed;

        private Builder() {}

        /** The loaded model to chat with (required). */
        public Builder model(Model model) {
            this.model = model;
            return this;
        }

        /** Parameters used where a request leaves them unset (temperature, top-p, max output tokens ...). */
        public Builder defaultRequestParameters(ChatRequestParameters parameters) {
            this.defaults = Objects.requireNonNull(parameters);
            return this;
        }

        /** The sampling seed of every request (LangChain4j requests carry none); default 0. */
        public Builder seed(long seed) {
            this.seed = seed;
            return this;
        }

        public TrilliumStreamingChatModel build() {
            return new TrilliumStreamingChatModel(this);
        }
    }
}
