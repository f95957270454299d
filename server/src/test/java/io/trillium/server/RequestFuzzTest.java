package io.trillium.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.trillium.fixtures.TestSchemas;
import io.trillium.json.JsonSchema;
import io.trillium.json.SchemaException;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A seeded mutation loop over request bodies and schemas: 100 000 bodies (byte mutations of valid
 * requests and tree mutations that put random JSON anywhere) through the request parser, and
 * 30 000 generated schemas through the schema compiler. The only exception allowed out is the
 * parser's {@link ApiError} with a 4xx status (the compiler's {@link SchemaException}); nothing may
 * hang (the loop is bounded in time) or run out of memory.
 */
class RequestFuzzTest {
    private static final JsonNodeFactory F = JsonNodeFactory.instance;
    private static final String[] SEEDS = {
            "{\"model\": \"m\", \"messages\": [{\"role\": \"system\", \"content\": \"Be brief.\"}, {\"role\": \"user\", \"content\": \"Hi\"}],"
                    + " \"temperature\": 0.7, \"top_p\": 0.9, \"max_tokens\": 16, \"stop\": [\"\\n\"], \"seed\": 3, \"stream\": true,"
                    + " \"stream_options\": {\"include_usage\": true}, \"logprobs\": true, \"top_logprobs\": 2, \"logit_bias\": {\"5\": -3}}",
            "{\"model\": \"m\", \"messages\": [{\"role\": \"user\", \"content\": [{\"type\": \"text\", \"text\": \"Hi\"}]},"
                    + " {\"role\": \"assistant\", \"content\": null, \"tool_calls\": [{\"id\": \"c1\", \"type\": \"function\","
                    + " \"function\": {\"name\": \"f\", \"arguments\": \"{\\\"a\\\": 1}\"}}]}, {\"role\": \"tool\", \"tool_call_id\": \"c1\", \"content\": \"2\"}],"
                    + " \"tools\": [{\"type\": \"function\", \"function\": {\"name\": \"f\", \"parameters\": {\"type\": \"object\","
                    + " \"properties\": {\"a\": {\"type\": \"integer\"}}, \"required\": [\"a\"]}}}], \"tool_choice\": \"required\"}",
            "{\"model\": \"m\", \"messages\": [{\"role\": \"user\", \"content\": \"x\"}], \"response_format\": {\"type\": \"json_schema\","
                    + " \"json_schema\": {\"name\": \"p\", \"strict\": true, \"schema\": " + TestSchemas.PERSON + "}}}",
            "{\"model\": \"m\", \"messages\": [{\"role\": \"user\", \"content\": \"x\"}], \"response_format\": {\"type\": \"json_schema\","
                    + " \"json_schema\": {\"name\": \"t\", \"schema\": " + TestSchemas.TREE + "}}}",
            "{\"model\": \"m\", \"messages\": [{\"role\": \"user\", \"content\": \"x\"}], \"response_format\": {\"type\": \"json_object\"},"
                    + " \"tool_choice\": {\"type\": \"function\", \"function\": {\"name\": \"f\"}}, \"n\": 1, \"max_completion_tokens\": 9}",
            "{\"model\": \"m\", \"prompt\": \"Once upon\", \"max_tokens\": 5, \"logprobs\": 3, \"echo\": true}",
            "{\"model\": \"m\", \"prompt\": [1, 2, 3], \"max_tokens\": 5}",
    };

    @Test
    void requestBodiesNeverEscapeAsAnythingButA4xx() {
        List<String> failures = new ArrayList<>();
        int[] outcomes = new int[2];   // accepted, refused
        assertTimeoutPreemptively(Duration.ofMinutes(4), () -> {
            SplittableRandom random = new SplittableRandom(20261208);
            List<JsonNode> trees = new ArrayList<>();
            for (String s : SEEDS) {
                trees.add(RequestParser.JSON.readTree(s));
                byte[] b = s.getBytes(StandardCharsets.UTF_8);
                run(b, true, failures, outcomes);
                run(b, false, failures, outcomes);
            }
            for (int i = 0; i < 100_000; i++) {
                byte[] body = random.nextBoolean()
                        ? bytes(SEEDS[random.nextInt(SEEDS.length)].getBytes(StandardCharsets.UTF_8), random)
                        : tree(trees.get(random.nextInt(trees.size())), random).toString().getBytes(StandardCharsets.UTF_8);
                run(body, random.nextInt(4) > 0, failures, outcomes);
            }
        });
        assertEquals(List.of(), failures.subList(0, Math.min(10, failures.size())), failures.size() + " inputs escaped");
        assertTrue(outcomes[0] > 1000 && outcomes[1] > 1000, "accepted " + outcomes[0] + ", refused " + outcomes[1]);
        System.out.printf("request fuzz: %d accepted, %d refused with a 4xx%n", outcomes[0], outcomes[1]);
    }

    @Test
    void generatedSchemasCompileOrFailWithASchemaException() {
        List<String> failures = new ArrayList<>();
        int[] compiled = {0};
        assertTimeoutPreemptively(Duration.ofMinutes(3), () -> {
            SplittableRandom random = new SplittableRandom(7);
            for (int i = 0; i < 30_000; i++) {
                JsonNode schema = schema(random, 0);
                try {
                    JsonSchema s = JsonSchema.compile(schema);
                    assertTrue(s.minBytes() >= 1, schema::toString);
                    compiled[0]++;
                } catch (SchemaException e) {
                    // refused with a place and a reason
                } catch (Throwable t) {
                    failures.add(t + " on " + schema);
                }
            }
        });
        assertEquals(List.of(), failures.subList(0, Math.min(10, failures.size())), failures.size() + " schemas escaped");
        assertTrue(compiled[0] > 1000, "only " + compiled[0] + " compiled: the generator is too hostile to test the compiler");
    }

    /**
     * Schemas from the same generator that compile, each walked by random tokens of a byte vocabulary
     * under a random budget: every document written is complete, within budget, and valid by networknt.
     */
    @Test
    void generatedSchemasThatCompileWriteDocumentsTheValidatorAccepts() {
        io.trillium.json.VocabIndex bytes = io.trillium.json.VocabIndex.of(new ByteTokenizer());
        List<String> failures = new ArrayList<>();
        int[] walked = {0};
        assertTimeoutPreemptively(Duration.ofMinutes(3), () -> {
            SplittableRandom random = new SplittableRandom(99);
            for (int i = 0; i < 30_000 && walked[0] < 1500; i++) {
                JsonNode schema = schema(random, 0);
                JsonSchema compiled;
                try {
                    compiled = JsonSchema.compile(schema);
                } catch (SchemaException e) {
                    continue;
                }
                if (compiled.minBytes() > 400) {
                    continue;
                }
                int budget = compiled.minBytes() + random.nextInt(60);
                io.trillium.json.JsonConstraint c = new io.trillium.json.JsonConstraint(compiled, bytes, new int[]{256});
                c.begin(budget);
                float[] logits = new float[257];
                java.io.ByteArrayOutputStream doc = new java.io.ByteArrayOutputStream();
                for (int t = 0; t < budget && !c.finished(); t++) {
                    java.util.Arrays.fill(logits, 0f);
                    c.mask(logits, budget - t);
                    int[] allowed = java.util.stream.IntStream.range(0, 257).filter(id -> logits[id] == 0f).toArray();
                    int id = allowed[random.nextInt(allowed.length)];
                    if (id == 256) {
                        break;
                    }
                    c.accept(id);
                    doc.write(id);
                }
                String text = doc.toString(StandardCharsets.UTF_8);
                if (!c.complete()) {
                    failures.add("incomplete <" + text + "> for " + schema);
                } else if (!new io.trillium.fixtures.JsonValidator(schema.toString()).valid(text)) {
                    failures.add("invalid <" + text + "> for " + schema);
                }
                walked[0]++;
            }
        });
        assertEquals(List.of(), failures.subList(0, Math.min(5, failures.size())), failures.size() + " of " + walked[0] + " documents");
        assertTrue(walked[0] >= 1000, "only " + walked[0] + " schemas walked");
    }

    /** 256 single-byte tokens and an end token: the token walk is a byte walk. */
    private static final class ByteTokenizer implements io.trillium.tokenizer.Tokenizer {
        @Override
        public int vocabSize() {
            return 257;
        }

        @Override
        public int[] encode(String text, boolean addSpecial, boolean parseSpecial) {
            throw new UnsupportedOperationException();
        }

        @Override
        public byte[] tokenBytes(int id) {
            return id == 256 ? "</s>".getBytes(StandardCharsets.US_ASCII) : new byte[]{(byte) id};
        }

        @Override
        public String tokenText(int id) {
            return new String(tokenBytes(id), StandardCharsets.ISO_8859_1);
        }

        @Override
        public io.trillium.tokenizer.TokenType tokenType(int id) {
            return id == 256 ? io.trillium.tokenizer.TokenType.CONTROL : io.trillium.tokenizer.TokenType.NORMAL;
        }

        @Override
        public java.util.OptionalInt tokenId(String text) {
            return java.util.OptionalInt.empty();
        }

        @Override
        public java.util.OptionalInt bos() {
            return java.util.OptionalInt.empty();
        }

        @Override
        public java.util.OptionalInt eos() {
            return java.util.OptionalInt.of(256);
        }
    }

    private static void run(byte[] body, boolean chat, List<String> failures, int[] outcomes) {
        try {
            JsonNode n = RequestParser.parse(body);
            if (chat) {
                RequestParser.chat(n);
            } else {
                RequestParser.completion(n);
            }
            outcomes[0]++;
        } catch (ApiError e) {
            if (e.status < 400 || e.status > 499 || e.getMessage() == null || e.getMessage().isEmpty()) {
                failures.add("status " + e.status + " for " + new String(body, StandardCharsets.UTF_8));
            }
            outcomes[1]++;
        } catch (Throwable t) {
            failures.add(t + " for " + new String(body, StandardCharsets.UTF_8));
        }
    }

    private static byte[] bytes(byte[] seed, SplittableRandom r) {
        byte[] b = seed.clone();
        int edits = 1 + r.nextInt(4);
        for (int e = 0; e < edits && b.length > 0; e++) {
            int at = r.nextInt(b.length);
            switch (r.nextInt(6)) {
                case 0 -> b[at] = (byte) r.nextInt(256);
                case 1 -> b = java.util.Arrays.copyOf(b, at);   // truncated
                case 2 -> {   // a range deleted
                    int len = Math.min(b.length - at, 1 + r.nextInt(20));
                    byte[] c = new byte[b.length - len];
                    System.arraycopy(b, 0, c, 0, at);
                    System.arraycopy(b, at + len, c, at, b.length - at - len);
                    b = c;
                }
                case 3 -> {
                    String structural = "{[\"\\:,-0e}]";
                    b = insert(b, at, String.valueOf(structural.charAt(r.nextInt(structural.length()))));
                }
                case 4 -> b = insert(b, at, new String[]{"1e999", "-1", "null", "\"\\u0000\"", "9223372036854775808",
                        "[[[[[[[[[[", "{\"a\":", "true", "\"\\ud800\"", "1.5"}[r.nextInt(10)]);
                default -> {   // a range duplicated
                    int len = Math.min(b.length - at, 1 + r.nextInt(40));
                    b = insert(b, at, new String(b, at, len, StandardCharsets.ISO_8859_1));
                }
            }
        }
        return b;
    }

    private static byte[] insert(byte[] b, int at, String s) {
        byte[] x = s.getBytes(StandardCharsets.ISO_8859_1);
        byte[] c = new byte[b.length + x.length];
        System.arraycopy(b, 0, c, 0, at);
        System.arraycopy(x, 0, c, at, x.length);
        System.arraycopy(b, at, c, at + x.length, b.length - at);
        return c;
    }

    /** A copy of {@code seed} with one node somewhere replaced by a random value. */
    private static JsonNode tree(JsonNode seed, SplittableRandom r) {
        JsonNode copy = seed.deepCopy();
        List<JsonNode> containers = new ArrayList<>();
        collect(copy, containers);
        JsonNode target = containers.get(r.nextInt(containers.size()));
        if (target instanceof ObjectNode o && !o.isEmpty()) {
            List<String> names = new ArrayList<>();
            o.fieldNames().forEachRemaining(names::add);
            String name = names.get(r.nextInt(names.size()));
            if (r.nextInt(5) == 0) {
                o.remove(name);
            } else {
                o.set(name, value(r, 0));
            }
        } else if (target instanceof ArrayNode a && !a.isEmpty()) {
            a.set(r.nextInt(a.size()), value(r, 0));
        }
        return copy;
    }

    private static void collect(JsonNode n, List<JsonNode> out) {
        if (n.isContainerNode()) {
            out.add(n);
            n.forEach(c -> collect(c, out));
        }
    }

    private static JsonNode value(SplittableRandom r, int depth) {
        return switch (r.nextInt(depth > 3 ? 6 : 8)) {
            case 0 -> F.nullNode();
            case 1 -> F.booleanNode(r.nextBoolean());
            case 2 -> F.numberNode(r.nextInt(5) == 0 ? r.nextLong() : r.nextInt(-3, 300));
            case 3 -> F.numberNode(r.nextDouble(-5, 5));
            case 4 -> F.textNode(new String[]{"", "user", "json_schema", "function", "auto", "x".repeat(r.nextInt(50)), "\u0000", "m"}[r.nextInt(8)]);
            case 5 -> F.textNode(Integer.toString(r.nextInt()));
            case 6 -> {
                ArrayNode a = F.arrayNode();
                for (int i = r.nextInt(4); i > 0; i--) {
                    a.add(value(r, depth + 1));
                }
                yield a;
            }
            default -> {
                ObjectNode o = F.objectNode();
                String[] keys = {"type", "role", "content", "name", "function", "schema", "json_schema", "arguments", "text", "x"};
                for (int i = r.nextInt(4); i > 0; i--) {
                    o.set(keys[r.nextInt(keys.length)], value(r, depth + 1));
                }
                yield o;
            }
        };
    }

    /** A random schema: mostly sensible keywords with sometimes wrong values, recursion, references. */
    private static JsonNode schema(SplittableRandom r, int depth) {
        if (r.nextInt(12) == 0) {
            return r.nextInt(3) == 0 ? value(r, 2) : F.booleanNode(r.nextInt(4) > 0);
        }
        ObjectNode s = F.objectNode();
        String[] types = {"string", "number", "integer", "boolean", "null", "array", "object"};
        int kind = r.nextInt(10);
        if (kind < 6) {
            s.put("type", r.nextInt(30) == 0 ? "strnig" : types[r.nextInt(types.length)]);
        } else if (kind == 6) {
            ArrayNode t = s.putArray("type");
            t.add(types[r.nextInt(types.length)]).add(types[r.nextInt(types.length)]);
        }
        if (depth < 4) {
            if (r.nextInt(3) == 0) {
                ObjectNode props = s.putObject("properties");
                ArrayNode req = F.arrayNode();
                for (int i = r.nextInt(4); i > 0; i--) {
                    String k = "p" + r.nextInt(6);
                    props.set(k, schema(r, depth + 1));
                    if (r.nextBoolean()) {
                        req.add(r.nextInt(10) == 0 ? "missing" : k);
                    }
                }
                if (!req.isEmpty()) {
                    s.set("required", req);
                }
            }
            if (r.nextInt(4) == 0) {
                s.set("items", schema(r, depth + 1));
            }
            if (r.nextInt(6) == 0) {
                ArrayNode any = s.putArray(r.nextBoolean() ? "anyOf" : "oneOf");
                for (int i = r.nextInt(3); i >= 0; i--) {
                    any.add(schema(r, depth + 1));
                }
            }
            if (r.nextInt(8) == 0) {
                s.putObject("$defs").set("d", schema(r, depth + 1));
            }
            if (r.nextInt(6) == 0) {
                s.set("additionalProperties", r.nextBoolean() ? F.booleanNode(r.nextBoolean()) : schema(r, depth + 1));
            }
        }
        if (r.nextInt(10) == 0) {
            s.put("$ref", new String[]{"#", "#/$defs/d", "#/definitions/x", "http://x", "#/properties/p1"}[r.nextInt(5)]);
        }
        if (r.nextInt(6) == 0) {
            ArrayNode e = s.putArray("enum");
            for (int i = r.nextInt(4); i >= 0; i--) {
                e.add(value(r, 2));
            }
        }
        if (r.nextInt(12) == 0) {
            s.set("const", value(r, 2));
        }
        for (String k : new String[]{"minItems", "maxItems", "minLength", "maxLength"}) {
            if (r.nextInt(8) == 0) {
                s.put(k, r.nextInt(12) == 0 ? -1 : r.nextInt(20) == 0 ? 1_000_000 : r.nextInt(6));
            }
        }
        if (r.nextInt(25) == 0) {
            s.put(new String[]{"pattern", "minimum", "uniqueItems", "description", "title"}[r.nextInt(5)], "x");
        }
        return s;
    }
}
