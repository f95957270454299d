package io.trillium.examples.langchain4j;

import dev.langchain4j.model.chat.ChatModel;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.request.ChatRequestParameters;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.model.chat.response.StreamingChatResponseHandler;

import java.util.Objects;

/**
 * The blocking LangChain4j {@link ChatModel} over a {@link TrilliumStreamingChatModel}: same message
 * and parameter mapping, the whole reply returned at once. Errors are rethrown as unchecked exceptions.
 */
public final class TrilliumChatModel implements ChatModel {
    private final TrilliumStreamingChatModel streaming;

    public TrilliumChatModel(TrilliumStreamingChatModel streaming) {
        this.streaming = Objects.requireNonNull(streaming);
    }

    @Override
    public ChatRequestParameters defaultRequestParameters() {
        return streaming.defaultRequestParameters();
    }

    @Override
    public java.util.Set<dev.langchain4j.model.chat.Capability> supportedCapabilities() {
        return streaming.supportedCapabilities();
    }

    @Override
    public ChatResponse doChat(ChatRequest request) {
        ChatResponse[] response = new ChatResponse[1];
        Throwable[] error = new Throwable[1];
        // the streaming model calls the handler on this thread before doChat returns
        streaming.doChat(request, new StreamingChatResponseHandler() {
            @Override
            public void onCompleteResponse(ChatResponse r) {
                response[0] = r;
            }

            @Override
            public void onError(Throwable t) {
                error[0] = t;
            }
        });
        if (error[0] instanceof RuntimeException e) throw e;
        if (error[0] instanceof Error e) throw e;
        if (error[0] != null) throw new IllegalStateException(error[0]);
        return response[0];
    }
}
