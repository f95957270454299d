package io.trillium.examples.langchain4j;

import dev.langchain4j.data.message.AiMessage;
import dev.langchain4j.data.message.SystemMessage;
import dev.langchain4j.data.message.UserMessage;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.request.ChatRequestParameters;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.model.chat.response.StreamingChatResponseHandler;
import dev.langchain4j.model.output.FinishReason;
import io.trillium.api.LoadOptions;
import io.trillium.api.Model;
import io.trillium.api.Trillium;
import io.trillium.fixtures.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

class TrilliumStreamingChatModelTest {

    /** Collects a streamed response the way an application would. */
    static final class Collector implements StreamingChatResponseHandler {
        final List<String> partials = new ArrayList<>();
        final CompletableFuture<ChatResponse> done = new CompletableFuture<>();

        @Override
        public void onPartialResponse(String partial) {
            partials.add(partial);
        }

        @Override
        public void onCompleteResponse(ChatResponse response) {
            done.complete(response);
        }

        @Override
        public void onError(Throwable error) {
            done.completeExceptionally(error);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"qwen3moe-tiny-F32.gguf", "ds2-tiny-F32.gguf"})
    void streamsPartialsThatConcatenateToTheFinalMessageAndHonoursMaxOutputTokens(String name) throws Exception {
        try (Model model = Trillium.load(Fixtures.models().resolve(name), LoadOptions.defaults());
             TrilliumStreamingChatModel chat = TrilliumStreamingChatModel.builder().model(model).seed(3).build()) {
            ChatRequest request = ChatRequest.builder()
                    .messages(SystemMessage.from("Be brief."), UserMessage.from("Hi"),
                            AiMessage.from("Hello."), UserMessage.from("Tell me a story."))
                    .parameters(ChatRequestParameters.builder().temperature(0.8).topP(0.9).maxOutputTokens(7).build())
                    .build();
            Collector handler = new Collector();
            chat.chat(request, handler);
            ChatResponse response = handler.done.get(60, TimeUnit.SECONDS);

            assertFalse(handler.partials.isEmpty());
            assertEquals(String.join("", handler.partials), response.aiMessage().text());
            assertTrue(response.tokenUsage().outputTokenCount() <= 7, response.tokenUsage().toString());
            assertTrue(response.tokenUsage().inputTokenCount() > 0);
            if (response.finishReason() == FinishReason.LENGTH) {
                assertEquals(7, response.tokenUsage().outputTokenCount());
            } else {
                assertEquals(FinishReason.STOP, response.finishReason());
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"qwen3moe-tiny-F32.gguf"})
    void defaultParametersApplyAndGreedyIsReproducible(String name) throws Exception {
        try (Model model = Trillium.load(Fixtures.models().resolve(name), LoadOptions.defaults());
             TrilliumStreamingChatModel chat = TrilliumStreamingChatModel.builder().model(model)
                     .defaultRequestParameters(ChatRequestParameters.builder().temperature(0.0).maxOutputTokens(5).build())
                     .build()) {
            String[] texts = new String[2];
            for (int i = 0; i < 2; i++) {
                Collector handler = new Collector();
                chat.chat(List.of(UserMessage.from("Count to ten.")), handler);
                ChatResponse r = handler.done.get(60, TimeUnit.SECONDS);
                assertTrue(r.tokenUsage().outputTokenCount() <= 5);
                texts[i] = r.aiMessage().text();
            }
            assertEquals(texts[0], texts[1]);
        }
    }

    static final dev.langchain4j.agent.tool.ToolSpecification WEATHER = dev.langchain4j.agent.tool.ToolSpecification.builder()
            .name("get_weather").description("Current weather")
            .parameters(dev.langchain4j.model.chat.request.json.JsonObjectSchema.builder()
                    .addStringProperty("city").required("city").build())
            .build();

    @ParameterizedTest
    @ValueSource(strings = {"qwen3moe-tiny-F32.gguf"})
    void unsupportedRequestsGoToOnError(String name) throws Exception {
        try (Model model = Trillium.load(Fixtures.models().resolve(name), LoadOptions.defaults());
             TrilliumStreamingChatModel chat = TrilliumStreamingChatModel.builder().model(model).build()) {
            Collector handler = new Collector();
            chat.chat(ChatRequest.builder()
                    .messages(UserMessage.from("Hi"))
                    .parameters(ChatRequestParameters.builder().toolSpecifications(WEATHER)
                            .toolChoice(dev.langchain4j.model.chat.request.ToolChoice.REQUIRED).build())
                    .build(), handler);
            var e = assertThrows(java.util.concurrent.ExecutionException.class, () -> handler.done.get(60, TimeUnit.SECONDS));
            assertInstanceOf(UnsupportedOperationException.class, e.getCause());
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"qwen3moe-tiny-F32.gguf"})
    void jsonSchemaRepliesParseAndMatch(String name) throws Exception {
        try (Model model = Trillium.load(Fixtures.models().resolve(name), LoadOptions.defaults());
             TrilliumStreamingChatModel streaming = TrilliumStreamingChatModel.builder().model(model).build()) {
            TrilliumChatModel chat = new TrilliumChatModel(streaming);
            assertTrue(chat.supportedCapabilities().contains(dev.langchain4j.model.chat.Capability.RESPONSE_FORMAT_JSON_SCHEMA));
            var root = dev.langchain4j.model.chat.request.json.JsonObjectSchema.builder()
                    .addStringProperty("name").addIntegerProperty("age")
                    .addEnumProperty("mood", java.util.List.of("happy", "sad")).required("name", "age", "mood").build();
            var reply = chat.chat(ChatRequest.builder().messages(UserMessage.from("Describe a person"))
                    .parameters(ChatRequestParameters.builder().maxOutputTokens(60).temperature(1.0)
                            .responseFormat(dev.langchain4j.model.chat.request.ResponseFormat.builder()
                                    .type(dev.langchain4j.model.chat.request.ResponseFormatType.JSON)
                                    .jsonSchema(dev.langchain4j.model.chat.request.json.JsonSchema.builder()
                                            .name("person").rootElement(root).build()).build()).build())
                    .build());
            String schema = new com.fasterxml.jackson.databind.ObjectMapper().writeValueAsString(
                    dev.langchain4j.internal.JsonSchemaElementUtils.toMap(root));
            new io.trillium.fixtures.JsonValidator(schema).assertValid(reply.aiMessage().text());
            assertEquals(dev.langchain4j.model.output.FinishReason.STOP, reply.finishReason());
        }
    }

    @Test
    void toolCallsInTheHistoryReachTheTemplate() {
        var call = dev.langchain4j.agent.tool.ToolExecutionRequest.builder().id("c1").name("get_weather")
                .arguments("{\"city\": \"Oslo\"}").build();
        var messages = TrilliumStreamingChatModel.toMessages(java.util.List.of(UserMessage.from("Weather?"),
                dev.langchain4j.data.message.AiMessage.from(call),
                dev.langchain4j.data.message.ToolExecutionResultMessage.from(call, "3 C")));
        assertEquals(1, messages.get(1).toolCalls().size());
        assertEquals("get_weather", messages.get(1).toolCalls().get(0).name());
        assertEquals("{\"city\": \"Oslo\"}", messages.get(1).toolCalls().get(0).argumentsJson());
        assertEquals("c1", messages.get(2).toolCallId());
    }

    @ParameterizedTest
    @ValueSource(strings = {"qwen3moe-tiny-F32.gguf"})
    void blockingChatModelMatchesTheStreamedText(String name) throws Exception {
        try (Model model = Trillium.load(Fixtures.models().resolve(name), LoadOptions.defaults());
             TrilliumStreamingChatModel streaming = TrilliumStreamingChatModel.builder().model(model)
                     .defaultRequestParameters(ChatRequestParameters.builder().temperature(0.0).maxOutputTokens(6).build())
                     .build()) {
            Collector handler = new Collector();
            streaming.chat(List.of(UserMessage.from("Hello")), handler);
            String streamed = handler.done.get(60, TimeUnit.SECONDS).aiMessage().text();
            ChatResponse blocking = new TrilliumChatModel(streaming).chat(UserMessage.from("Hello"));
            assertEquals(streamed, blocking.aiMessage().text());
            assertTrue(blocking.tokenUsage().outputTokenCount() <= 6);
            assertThrows(UnsupportedOperationException.class, () -> new TrilliumChatModel(streaming).chat(
                    ChatRequest.builder().messages(UserMessage.from("Hi"))
                            .parameters(ChatRequestParameters.builder().toolSpecifications(WEATHER)
                                    .toolChoice(dev.langchain4j.model.chat.request.ToolChoice.REQUIRED).build())
                            .build()));
        }
    }
}
