package io.trillium.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.JsonValue;
import com.openai.core.http.StreamResponse;
import com.openai.errors.BadRequestException;
import com.openai.errors.NotFoundException;
import com.openai.errors.UnauthorizedException;
import com.openai.models.FunctionDefinition;
import com.openai.models.FunctionParameters;
import com.openai.models.ResponseFormatJsonObject;
import com.openai.models.ResponseFormatJsonSchema;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionFunctionTool;
import com.openai.models.chat.completions.ChatCompletionMessageFunctionToolCall;
import com.openai.models.chat.completions.ChatCompletionStreamOptions;
import com.openai.models.chat.completions.ChatCompletionToolChoiceOption;
import com.openai.models.chat.completions.ChatCompletionToolMessageParam;
import com.openai.models.chat.completions.ChatCompletionTokenLogprob;
import com.openai.models.completions.Completion;
import com.openai.models.completions.CompletionCreateParams;
import io.trillium.fixtures.TestSchemas;
import io.trillium.fixtures.JsonValidator;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The server end to end through OpenAI's official Java client: answers equal what a session alone
 * generates, streaming adds up to the same text, structured output validates (networknt), forced tool
 * calls come back as {@code tool_calls} whose arguments match the tool's parameters, and the client
 * sees OpenAI's errors as its own exception types.
 */
class OpenAiClientServerTest {
    static ServerFixture fx;
    static OpenAIClient client;
    static final ObjectMapper JSON = new ObjectMapper();

    @BeforeAll
    static void start() throws Exception {
        fx = new ServerFixture(ServerFixture.options().withApiKey("sk-test"));
        client = OpenAIOkHttpClient.builder().baseUrl(fx.base() + "/v1").apiKey("sk-test").maxRetries(0).build();
    }

    @AfterAll
    static void stop() {
        client.close();
        fx.close();
    }

    private static ChatCompletionCreateParams.Builder chat(String prompt, int maxTokens) {
        return ChatCompletionCreateParams.builder().model(ServerFixture.MODEL_ID).addUserMessage(prompt)
                .maxCompletionTokens(maxTokens).temperature(0.0);
    }

    @Test
    void listsItsModel() {
        List<com.openai.models.models.Model> models = client.models().list().data();
        assertEquals(1, models.size());
        assertEquals(ServerFixture.MODEL_ID, models.get(0).id());
        assertEquals(ServerFixture.MODEL_ID, client.models().retrieve(ServerFixture.MODEL_ID).id());
        assertThrows(NotFoundException.class, () -> client.models().retrieve("gpt-9"));
    }

    @Test
    void chatAnswersAsASessionAloneWould() {
        ChatCompletion c = client.chat().completions().create(chat("Tell me about the weather", 12).build());
        String content = c.choices().get(0).message().content().orElseThrow();
        assertEquals(fx.solo("Tell me about the weather", 12), content);
        long completion = c.usage().orElseThrow().completionTokens();
        assertTrue(completion >= 1 && completion <= 12, "completion tokens " + completion);
        assertTrue(c.usage().orElseThrow().promptTokens() > 5);
        String finish = c.choices().get(0).finishReason().asString();
        assertEquals(completion == 12 ? "length" : "stop", finish);
    }

    @Test
    void streamedDeltasAddUpToTheAnswerThenUsage() {
        ChatCompletionCreateParams params = chat("Count to five", 10)
                .streamOptions(ChatCompletionStreamOptions.builder().includeUsage(true).build()).build();
        StringBuilder text = new StringBuilder();
        String[] finish = {null};
        long[] usage = {-1};
        try (StreamResponse<ChatCompletionChunk> stream = client.chat().completions().createStreaming(params)) {
            stream.stream().forEach(chunk -> {
                for (ChatCompletionChunk.Choice ch : chunk.choices()) {
                    ch.delta().content().ifPresent(text::append);
                    ch.finishReason().ifPresent(f -> finish[0] = f.asString());
                }
                chunk.usage().ifPresent(u -> usage[0] = u.completionTokens());
            });
        }
        assertEquals(fx.solo("Count to five", 10), text.toString());
        assertTrue(finish[0].equals("stop") || finish[0].equals("length"), finish[0]);
        assertTrue(usage[0] >= 1 && usage[0] <= 10, "usage " + usage[0]);
    }

    @Test
    void jsonSchemaOutputValidates() throws Exception {
        for (String schemaText : List.of(TestSchemas.PERSON, TestSchemas.SHAPES)) {
            Map<String, JsonValue> schema = new LinkedHashMap<>();
            JSON.readTree(schemaText).fields().forEachRemaining(e -> schema.put(e.getKey(), JsonValue.fromJsonNode(e.getValue())));
            ChatCompletion c = client.chat().completions().create(chat("Describe a person as JSON", 80)
                    .temperature(1.0).seed(3)
                    .responseFormat(ResponseFormatJsonSchema.builder().jsonSchema(ResponseFormatJsonSchema.JsonSchema.builder()
                            .name("answer").schema(ResponseFormatJsonSchema.JsonSchema.Schema.builder()
                                    .putAllAdditionalProperties(schema).build()).build()).build())
                    .build());
            String content = c.choices().get(0).message().content().orElseThrow();
            new JsonValidator(schemaText).assertValid(content);
            assertEquals("stop", c.choices().get(0).finishReason().asString());
        }
        ChatCompletion c = client.chat().completions().create(chat("Any JSON object", 40)
                .responseFormat(ResponseFormatJsonObject.builder().build()).build());
        assertTrue(JSON.readTree(c.choices().get(0).message().content().orElseThrow()).isObject());
    }

    @Test
    void forcedToolCallsRoundTrip() throws Exception {
        String params = "{\"type\": \"object\", \"properties\": {\"city\": {\"type\": \"string\", \"maxLength\": 20},"
                + " \"unit\": {\"enum\": [\"celsius\", \"fahrenheit\"]}}, \"required\": [\"city\", \"unit\"]}";
        FunctionParameters.Builder fp = FunctionParameters.builder();
        JSON.readTree(params).fields().forEachRemaining(e -> fp.putAdditionalProperty(e.getKey(), JsonValue.fromJsonNode(e.getValue())));
        ChatCompletionFunctionTool weather = ChatCompletionFunctionTool.builder().function(FunctionDefinition.builder()
                .name("get_weather").description("Current weather in a city").parameters(fp.build()).build()).build();
        ChatCompletion c = client.chat().completions().create(chat("What is the weather in Oslo?", 120)
                .addTool(weather).toolChoice(ChatCompletionToolChoiceOption.Auto.REQUIRED).build());
        ChatCompletion.Choice choice = c.choices().get(0);
        assertEquals("tool_calls", choice.finishReason().asString());
        List<com.openai.models.chat.completions.ChatCompletionMessageToolCall> calls = choice.message().toolCalls().orElseThrow();
        assertFalse(calls.isEmpty());
        ChatCompletionMessageFunctionToolCall call = calls.get(0).asFunction();
        assertEquals("get_weather", call.function().name());
        new JsonValidator(params).assertValid(call.function().arguments());

        // streamed, the forced call comes as a tool_calls delta and no content
        StringBuilder streamedContent = new StringBuilder();
        List<String> streamedNames = new java.util.ArrayList<>();
        try (StreamResponse<ChatCompletionChunk> stream = client.chat().completions().createStreaming(
                chat("What is the weather in Oslo?", 120).addTool(weather).toolChoice(ChatCompletionToolChoiceOption.Auto.REQUIRED).build())) {
            stream.stream().forEach(chunk -> chunk.choices().forEach(ch -> {
                ch.delta().content().ifPresent(streamedContent::append);
                ch.delta().toolCalls().ifPresent(tc -> tc.forEach(t -> t.function().flatMap(f -> f.name()).ifPresent(streamedNames::add)));
            }));
        }
        assertEquals("", streamedContent.toString());
        assertEquals(List.of("get_weather"), streamedNames.subList(0, 1));

        // the result goes back as a tool message; the conversation goes on
        ChatCompletion next = client.chat().completions().create(chat("What is the weather in Oslo?", 8)
                .addTool(weather).addMessage(choice.message())
                .addMessage(ChatCompletionToolMessageParam.builder().toolCallId(call.id()).content("{\"temp\": 3}").build())
                .build());
        assertTrue(next.choices().get(0).message().content().isPresent());
    }

    @Test
    void logprobsAreSortedAndConsistent() {
        ChatCompletion c = client.chat().completions().create(chat("Hello", 5).logprobs(true)
                .putAdditionalBodyProperty("top_logprobs", JsonValue.from(3)).build());
        List<ChatCompletionTokenLogprob> lps = c.choices().get(0).logprobs().orElseThrow().content().orElseThrow();
        assertEquals(c.usage().orElseThrow().completionTokens(), lps.size());
        for (ChatCompletionTokenLogprob lp : lps) {
            assertEquals(3, lp.topLogprobs().size());
            assertTrue(lp.logprob() <= 0);
            // greedy: the chosen token is the most likely one
            assertEquals(lp.topLogprobs().get(0).logprob(), lp.logprob(), 1e-4);
            assertTrue(lp.topLogprobs().get(0).logprob() >= lp.topLogprobs().get(1).logprob());
        }
    }

    @Test
    void textCompletions() {
        Completion c = client.completions().create(CompletionCreateParams.builder().model(ServerFixture.MODEL_ID)
                .prompt("The weights are").maxTokens(6L).temperature(0.0).build());
        try (io.trillium.api.Session s = fx.model.newSession(256)) {
            assertEquals(s.generate(io.trillium.api.GenerationRequest.builder().prompt("The weights are").maxTokens(6).build()).text(),
                    c.choices().get(0).text());
        }
    }

    @Test
    void errorsAreOpenAisExceptions() {
        NotFoundException nf = assertThrows(NotFoundException.class, () -> client.chat().completions().create(
                ChatCompletionCreateParams.builder().model("gpt-9").addUserMessage("x").build()));
        assertTrue(nf.getMessage().contains("gpt-9"), nf.getMessage());
        OpenAIClient wrong = OpenAIOkHttpClient.builder().baseUrl(fx.base() + "/v1").apiKey("sk-wrong").maxRetries(0).build();
        try {
            assertThrows(UnauthorizedException.class, () -> wrong.models().list());
        } finally {
            wrong.close();
        }
        BadRequestException overflow = assertThrows(BadRequestException.class, () -> client.chat().completions().create(
                chat("Tell me a long story about the sea", 250).build()));
        assertTrue(overflow.getMessage().contains("context"), overflow.getMessage());
        BadRequestException tooMany = assertThrows(BadRequestException.class, () -> client.chat().completions().create(
                chat("x", 1000).build()));
        assertTrue(tooMany.getMessage().contains("limit of 256"), tooMany.getMessage());
        BadRequestException schema = assertThrows(BadRequestException.class, () -> client.chat().completions().create(
                chat("x", 10).responseFormat(ResponseFormatJsonSchema.builder().jsonSchema(ResponseFormatJsonSchema.JsonSchema.builder()
                        .name("bad").schema(ResponseFormatJsonSchema.JsonSchema.Schema.builder()
                                .putAdditionalProperty("type", JsonValue.from("strnig")).build()).build()).build()).build()));
        assertTrue(schema.getMessage().contains("strnig"), schema.getMessage());
    }

    @Test
    void rawErrorsHaveOpenAisShapeAndStatus() throws Exception {
        String auth = "Bearer sk-test";
        var malformed = fx.post("/v1/chat/completions", "{\"model\": ", "Authorization", auth);
        assertEquals(400, malformed.statusCode());
        JsonNode err = JSON.readTree(malformed.body()).get("error");
        assertEquals("invalid_request_error", err.get("type").asText());
        assertTrue(err.get("message").asText().contains("malformed JSON"), err.toString());
        var missing = fx.post("/v1/chat/completions", "{\"model\": \"ds2-tiny\"}", "Authorization", auth);
        assertEquals(400, missing.statusCode());
        assertEquals("messages", JSON.readTree(missing.body()).get("error").get("param").asText());
        // streamed legacy completions carry their tokens' logprobs chunk by chunk
        var streamed = fx.post("/v1/completions", "{\"model\": \"ds2-tiny\", \"prompt\": \"Hi\", \"max_tokens\": 4,"
                + " \"temperature\": 0, \"stream\": true, \"logprobs\": 2}", "Authorization", auth);
        assertEquals(200, streamed.statusCode());
        int tokens = 0;
        for (String line : streamed.body().split("\n")) {
            if (line.startsWith("data: {")) {
                JsonNode lp = JSON.readTree(line.substring(6)).get("choices").get(0).get("logprobs");
                if (lp != null && !lp.isNull()) {
                    tokens += lp.get("tokens").size();
                    assertEquals(lp.get("tokens").size(), lp.get("token_logprobs").size());
                }
            }
        }
        assertTrue(tokens >= 1 && tokens <= 4, "streamed logprob entries: " + tokens);
        var n2 = fx.post("/v1/chat/completions", "{\"model\": \"ds2-tiny\", \"n\": 2, \"messages\": [{\"role\": \"user\", \"content\": \"x\"}]}",
                "Authorization", auth);
        assertEquals(400, n2.statusCode());
        var big = fx.post("/v1/chat/completions", "{\"x\": \"" + "a".repeat(ServerOptions.DEFAULT_MAX_BODY_BYTES) + "\"}", "Authorization", auth);
        assertEquals(413, big.statusCode());
        assertEquals(401, fx.post("/v1/completions", "{}").statusCode());
        assertEquals(404, fx.get("/v2/nothing").statusCode());
        assertEquals(401, fx.get("/v1/chat/completions").statusCode());
        assertEquals(405, fx.http.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(fx.base() + "/v1/chat/completions"))
                .header("Authorization", auth).GET().build(), java.net.http.HttpResponse.BodyHandlers.ofString()).statusCode());
        assertEquals(200, fx.get("/health").statusCode());
        String metrics = fx.get("/metrics").body();
        assertTrue(metrics.contains("trillium_requests_total{endpoint=\"/v1/chat/completions\",status=\"400\"}"), metrics);
        assertTrue(metrics.contains("trillium_weight_bytes_read_total"), metrics);
        assertTrue(metrics.contains("trillium_queue_length 0"), metrics);
    }
}
