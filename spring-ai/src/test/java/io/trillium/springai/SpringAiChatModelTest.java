package io.trillium.springai;

import io.trillium.api.GenerationRequest;
import io.trillium.api.LoadOptions;
import io.trillium.api.Model;
import io.trillium.api.Session;
import io.trillium.api.Trillium;
import io.trillium.chat.Message;
import io.trillium.fixtures.Fixtures;
import io.trillium.fixtures.JsonValidator;
import io.trillium.fixtures.TestSchemas;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.springframework.ai.chat.messages.AssistantMessage;
import org.springframework.ai.chat.messages.ToolResponseMessage;
import org.springframework.ai.chat.messages.UserMessage;
import org.springframework.ai.chat.model.ChatResponse;
import org.springframework.ai.chat.prompt.ChatOptions;
import org.springframework.ai.chat.prompt.Prompt;
import org.springframework.ai.model.tool.DefaultStructuredOutputChatOptions;
import org.springframework.ai.model.tool.ToolCallingChatOptions;
import org.springframework.ai.tool.function.FunctionToolCallback;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The Spring AI adapter on the tiny deepseek2 fixture: same text as a session alone, streaming, schema, tools, concurrency. */
class SpringAiChatModelTest {
    static Model model;
    static TrilliumSpringChatModel chat;

    @BeforeAll
    static void load() {
        model = Trillium.load(Fixtures.models().resolve("ds2-tiny-F32.gguf"), LoadOptions.builder().threads(2).build());
        chat = TrilliumSpringChatModel.builder().model(model).temperature(0).maxTokens(10).contextLength(256).build();
    }

    @AfterAll
    static void close() {
        chat.close();
        model.close();
    }

    static String solo(String prompt, int maxTokens) {
        try (Session s = model.newSession(256)) {
            return s.generate(GenerationRequest.builder().messages(List.of(Message.user(prompt))).maxTokens(maxTokens).build()).text();
        }
    }

    @Test
    void callAnswersAsASessionAloneAndStreamingAddsUp() {
        ChatResponse r = chat.call(new Prompt("Hello there"));
        assertEquals(solo("Hello there", 10), r.getResult().getOutput().getText());
        String finish = r.getResult().getMetadata().getFinishReason();
        assertTrue(finish.equals("STOP") || finish.equals("LENGTH"), finish);
        StringBuilder streamed = new StringBuilder();
        List<ChatResponse> parts = chat.stream(new Prompt("Hello there")).collectList().block();
        parts.forEach(p -> streamed.append(p.getResult().getOutput().getText()));
        assertEquals(r.getResult().getOutput().getText(), streamed.toString());
        assertEquals(finish, parts.get(parts.size() - 1).getResult().getMetadata().getFinishReason());
        // options on the prompt override the defaults
        ChatResponse shorter = chat.call(new Prompt("Hello there", ChatOptions.builder().maxTokens(3).build()));
        assertEquals(solo("Hello there", 3), shorter.getResult().getOutput().getText());
    }

    @Test
    void outputSchemaConstrainsTheReply() {
        ChatResponse r = chat.call(new Prompt("A person as JSON", new DefaultStructuredOutputChatOptions.Builder<>()
                .outputSchema(TestSchemas.PERSON).maxTokens(80).temperature(1.0).build()));
        new JsonValidator(TestSchemas.PERSON).assertValid(r.getResult().getOutput().getText());
        assertEquals("STOP", r.getResult().getMetadata().getFinishReason());
    }

    @Test
    void toolsReachTheTemplateAndToolHistoryMaps() {
        FunctionToolCallback<Map<String, String>, String> weather = FunctionToolCallback
                .builder("get_weather", (Function<Map<String, String>, String>) in -> "3 C")
                .description("Current weather in a city")
                .inputSchema("{\"type\": \"object\", \"properties\": {\"city\": {\"type\": \"string\"}}, \"required\": [\"city\"]}")
                .inputType(Map.class)
                .build();
        GenerationRequest request = chat.toGenerationRequest(new Prompt("Weather?",
                ToolCallingChatOptions.builder().toolCallbacks(weather).build()), null);
        Object tool = request.tools().orElseThrow().get(0);
        assertEquals("get_weather", ((Map<?, ?>) ((Map<?, ?>) tool).get("function")).get("name"));
        assertEquals(Map.of("city", Map.of("type", "string")),
                ((Map<?, ?>) ((Map<?, ?>) ((Map<?, ?>) tool).get("function")).get("parameters")).get("properties"));

        AssistantMessage call = AssistantMessage.builder().content("")
                .toolCalls(List.of(new AssistantMessage.ToolCall("c1", "function", "get_weather", "{\"city\":\"Oslo\"}"))).build();
        ToolResponseMessage result = ToolResponseMessage.builder()
                .responses(List.of(new ToolResponseMessage.ToolResponse("c1", "get_weather", "3 C"))).build();
        List<Message> messages = TrilliumSpringChatModel.toMessages(List.of(new UserMessage("Weather?"), call, result));
        assertEquals("get_weather", messages.get(1).toolCalls().get(0).name());
        assertEquals("{\"city\":\"Oslo\"}", messages.get(1).toolCalls().get(0).argumentsJson());
        assertEquals("c1", messages.get(2).toolCallId());
        assertEquals("3 C", messages.get(2).content());
        // and the conversation with its tool turn generates what a session alone does on the same messages
        String expected;
        try (Session s = model.newSession(256)) {
            expected = s.generate(GenerationRequest.builder().messages(messages).maxTokens(10).build()).text();
        }
        assertEquals(expected, chat.call(new Prompt(List.of(new UserMessage("Weather?"), call, result))).getResult().getOutput().getText());
    }

    @Test
    void concurrentCallsGiveTheirSoloAnswers() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<String>> got = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                String p = "Question " + i;
                got.add(pool.submit(() -> chat.call(new Prompt(p)).getResult().getOutput().getText()));
            }
            for (int i = 0; i < 8; i++) {
                assertEquals(solo("Question " + i, 10), got.get(i).get());
            }
        } finally {
            pool.shutdownNow();
        }
    }
}
