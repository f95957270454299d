package io.trillium.examples.langchain4j;

import dev.langchain4j.data.message.AiMessage;
import dev.langchain4j.data.message.ChatMessage;
import dev.langchain4j.data.message.SystemMessage;
import dev.langchain4j.data.message.ToolExecutionResultMessage;
import dev.langchain4j.data.message.UserMessage;
import dev.langchain4j.model.chat.StreamingChatModel;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.request.ChatRequestParameters;
import dev.langchain4j.model.chat.request.ResponseFormat;
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

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * A LangChain4j {@link StreamingChatModel} backed by a Trillium {@link Model}.
 *
 * <p>Maps system, user, AI and tool-result messages to {@link Message}s (rendered with the model's
 * chat template), and the request parameters temperature, top-p, top-k, frequency and presence
 * penalty, max output tokens and stop sequences to the {@link GenerationRequest}; parameters missing
 * from a request come from {@link #defaultRequestParameters()}. Tool specifications and JSON response
 * formats are not supported and are reported through {@code onError}.
 *
 * <p>{@link #chat(ChatRequest, StreamingChatResponseHandler)} runs the generation on the calling
 * thread and returns after the handler's {@code onCompleteResponse} or {@code onError}. The model
 * keeps one {@link Session}, so consecutive turns of one conversation reuse its KV cache; concurrent
 * calls are serialised. The adapter does not own the {@link Model}: close both when done.
 */
public final class TrilliumStreamingChatModel implements StreamingChatModel, AutoCloseable {
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
    public void doChat(ChatRequest request, StreamingChatResponseHandler handler) {
        GenerationResult result;
        try {
            GenerationRequest generation = toGenerationRequest(request);
            synchronized (session) {
                result = session.generate(generation, token -> {
                    if (!token.text().isEmpty()) handler.onPartialResponse(token.text());
                });
            }
        } catch (RuntimeException e) {
            handler.onError(e);
            return;
        }
        Metrics m = result.metrics();
        handler.onCompleteResponse(ChatResponse.builder()
                .aiMessage(AiMessage.from(result.text()))
                .finishReason(finishReason(result.finishReason()))
                .tokenUsage(new TokenUsage(m.promptTokens() + m.cachedPromptTokens(), m.generatedTokens()))
                .modelName(model.info().architecture())
                .build());
    }

    /** Translates a LangChain4j request (parameters already merged with the defaults). */
    GenerationRequest toGenerationRequest(ChatRequest request) {
        ChatRequestParameters p = request.parameters();
        if (p.toolSpecifications() != null && !p.toolSpecifications().isEmpty()) {
            throw new UnsupportedOperationException("tool specifications are not supported");
        }
        if (p.responseFormat() != null && !ResponseFormat.TEXT.equals(p.responseFormat())) {
            throw new UnsupportedOperationException("response format " + p.responseFormat().type() + " is not supported");
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
                .seed(seed);
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
