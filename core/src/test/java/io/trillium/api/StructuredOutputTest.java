package io.trillium.api;

import io.trillium.json.JsonSchema;
import io.trillium.fixtures.TestSchemas;
import io.trillium.fixtures.JsonValidator;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Generation under a response format on a real model (the tiny deepseek2 fixture, whose random weights
 * would never write JSON by themselves): every output parses and matches its schema by an independent
 * validator, finishes with STOP_TOKEN within maxTokens, also when maxTokens is the schema's minimum.
 */
class StructuredOutputTest {
    static Model model;

    @BeforeAll
    static void load() {
        model = Trillium.load(ApiTest.model("ds2-tiny-F32"), LoadOptions.builder().threads(2).contextLength(256).build());
    }

    @AfterAll
    static void close() {
        model.close();
    }

    @Test
    void everyOutputIsACompleteValidDocument() {
        try (Session s = model.newSession()) {
            for (String text : TestSchemas.all()) {
                JsonSchema schema = JsonSchema.compile(text);
                JsonValidator validator = new JsonValidator(text);
                int min = schema.minBytes();
                for (int maxTokens : new int[]{min, min + 3, Math.max(min + 20, 60)}) {
                    for (long seed : new long[]{-1, 1, 2}) {
                        GenerationRequest.Builder b = GenerationRequest.builder().prompt("Reply in JSON:")
                                .maxTokens(maxTokens).responseFormat(schema);
                        if (seed >= 0) {
                            b.sampler(Samplers.temperature(1.5)).seed(seed);
                        }
                        GenerationResult r = s.generate(b.build());
                        assertTrue(r.ids().length <= maxTokens);
                        assertEquals(FinishReason.STOP_TOKEN, r.finishReason(), () -> r.text() + " for " + text);
                        validator.assertValid(r.text());
                    }
                }
            }
        }
    }

    @Test
    void streamedPiecesAddUpToTheDocument() {
        String text = "{\"type\": \"object\", \"properties\": {\"answer\": {\"enum\": [\"yes\", \"no\"]},"
                + " \"why\": {\"type\": \"string\", \"maxLength\": 20}}, \"required\": [\"answer\", \"why\"]}";
        StringBuilder streamed = new StringBuilder();
        try (Session s = model.newSession()) {
            GenerationResult r = s.generate(GenerationRequest.builder().prompt("Is it?").maxTokens(40)
                    .responseFormat(JsonSchema.compile(text)).sampler(Samplers.temperature(1.0)).seed(7).build(),
                    t -> streamed.append(t.text()));
            assertEquals(r.text(), streamed.toString());
            String answer = new JsonValidator(text).assertValid(r.text()).get("answer").asString();
            assertTrue(answer.equals("yes") || answer.equals("no"), answer);
        }
    }

    @Test
    void stopStringsCannotCutTheDocument() {
        String text = "{\"type\": \"object\", \"properties\": {\"name\": {\"type\": \"string\"}}, \"required\": [\"name\"]}";
        try (Session s = model.newSession()) {
            GenerationResult r = s.generate(GenerationRequest.builder().prompt("x").maxTokens(30).stop("name", "\"", "{")
                    .responseFormat(JsonSchema.compile(text)).build());
            new JsonValidator(text).assertValid(r.text());
            assertEquals(FinishReason.STOP_TOKEN, r.finishReason());
        }
    }

    @Test
    void aBudgetBelowTheShortestDocumentIsRefused() {
        JsonSchema schema = JsonSchema.compile("{\"type\": \"object\", \"properties\": {\"name\": {\"type\": \"string\"}},"
                + " \"required\": [\"name\"]}");
        assertEquals("{\"name\":\"\"}".length(), schema.minBytes());
        try (Session s = model.newSession()) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> s.generate(GenerationRequest.builder()
                    .prompt("x").maxTokens(schema.minBytes() - 1).responseFormat(schema).build()));
            assertTrue(e.getMessage().contains("shortest document"), e.getMessage());
            // the session still works
            assertEquals(FinishReason.STOP_TOKEN, s.generate(GenerationRequest.builder().prompt("x")
                    .maxTokens(schema.minBytes()).responseFormat(schema).build()).finishReason());
        }
    }
}
