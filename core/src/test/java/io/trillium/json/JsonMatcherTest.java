package io.trillium.json;

import io.trillium.fixtures.JsonValidator;
import io.trillium.fixtures.TestSchemas;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The byte automaton against an independent parser and validator ({@link JsonValidator}): random walks
 * that take any allowed byte write only valid documents and always finish within their budget; the
 * cheapest walk is exactly {@link JsonSchema#minBytes()} long (the costs are exact, not just bounds);
 * documents written by hand are accepted or rejected as the validator says.
 */
class JsonMatcherTest {
    static final String PERSON = TestSchemas.PERSON;
    static final String TREE = TestSchemas.TREE;
    static final String SHAPES = TestSchemas.SHAPES;

    static List<String> schemas() {
        return TestSchemas.all();
    }

    @ParameterizedTest
    @MethodSource("schemas")
    void randomWalksWriteValidDocumentsWithinTheirBudget(String text) {
        JsonSchema schema = JsonSchema.compile(text);
        JsonValidator validator = new JsonValidator(text);
        SplittableRandom random = new SplittableRandom(text.hashCode());
        JsonMatcher.Out out = new JsonMatcher.Out();
        for (int walk = 0; walk < 60; walk++) {
            int budget = schema.minBytes() + random.nextInt(walk < 10 ? 3 : 80);
            JsonMatcher.Config[] state = JsonMatcher.start(schema);
            ByteArrayOutputStream doc = new ByteArrayOutputStream();
            while (!JsonMatcher.finished(state)) {
                int left = budget - doc.size();
                int[] next = new int[256];
                int n = 0;
                for (int b = 0; b < 256; b++) {
                    JsonMatcher.Config[] s = JsonMatcher.advance(state, b, out);
                    if (s != null && JsonMatcher.cost(s) <= left - 1) {
                        next[n++] = b;
                    }
                }
                boolean complete = JsonMatcher.complete(state);
                if (n == 0) {
                    assertTrue(complete, () -> "stuck before the document is complete, " + left + " bytes left: <" + doc + ">");
                    break;
                }
                if (complete && random.nextInt(4) == 0) {
                    break;
                }
                // mostly structural bytes, sometimes any: a uniform pick among 256 would write strings only
                int b = next[random.nextInt(n)];
                if (random.nextInt(3) > 0) {
                    for (int i = 0; i < n; i++) {
                        if (next[i] < 0x80 && "{}[],:\"\\u0123456789-tfn".indexOf(next[i]) >= 0 && random.nextBoolean()) {
                            b = next[i];
                            break;
                        }
                    }
                }
                state = JsonMatcher.advance(state, b, out);
                doc.write(b);
                if (doc.size() % 5 == 0) {
                    assertCostIsExact(state, doc);
                }
            }
            assertTrue(doc.size() <= budget, "over budget: " + doc.size() + " > " + budget);
            validator.assertValid(doc.toByteArray());
        }
    }

    @ParameterizedTest
    @MethodSource("schemas")
    void theCheapestWalkIsExactlyMinBytesLong(String text) {
        JsonSchema schema = JsonSchema.compile(text);
        JsonMatcher.Out out = new JsonMatcher.Out();
        JsonMatcher.Config[] state = JsonMatcher.start(schema);
        ByteArrayOutputStream doc = new ByteArrayOutputStream();
        while (!JsonMatcher.complete(state)) {
            int cost = JsonMatcher.cost(state);
            JsonMatcher.Config[] next = null;
            for (int b = 0; b < 256 && next == null; b++) {
                JsonMatcher.Config[] s = JsonMatcher.advance(state, b, out);
                if (s != null && JsonMatcher.cost(s) == cost - 1) {
                    next = s;
                    doc.write(b);
                }
            }
            assertNotNull(next, () -> "no byte lowers the cost " + cost + " after <" + doc + ">: the cost is not achievable");
            state = next;
        }
        assertEquals(schema.minBytes(), doc.size(), doc::toString);
        new JsonValidator(text).assertValid(doc.toByteArray());
    }

    /** The cost of a state is exact: a chain of bytes that each lower it by one finishes the document. */
    private static void assertCostIsExact(JsonMatcher.Config[] state, ByteArrayOutputStream doc) {
        JsonMatcher.Out out = new JsonMatcher.Out();
        int steps = 0;
        while (!JsonMatcher.complete(state) || JsonMatcher.cost(state) > 0) {
            int cost = JsonMatcher.cost(state);
            JsonMatcher.Config[] next = null;
            for (int b = 0; b < 256 && next == null; b++) {
                JsonMatcher.Config[] s = JsonMatcher.advance(state, b, out);
                if (s != null && JsonMatcher.cost(s) == cost - 1) {
                    next = s;
                }
            }
            int done = steps;
            assertNotNull(next, () -> "after <" + doc + "> + " + done + " cheapest bytes no byte lowers the cost " + cost);
            state = next;
            steps++;
        }
    }

    @Test
    void handWrittenDocumentsAsTheValidatorJudgesThem() {
        String[][] cases = {
                {PERSON, "{\"name\":\"Ann\",\"age\":41,\"tags\":[\"a\"]}"},
                {PERSON, "{ \"name\" : \"\\u00e9\\n\\\"\" , \"age\": -0, \"tags\": [\"c\", \"b\"], \"ok\": false }"},
                {PERSON, "{\"name\":\"Zoë 😀\",\"age\":7,\"tags\":[\"a\"],\"address\":{\"city\":\"Oslo\",\"zip\":null},\"score\":-1.5e+3}"},
                {PERSON, "{\"name\":\"Ann\",\"age\":41}"},                       // tags missing
                {PERSON, "{\"name\":\"Ann\",\"age\":4.5,\"tags\":[\"a\"]}"},     // age not an integer
                {PERSON, "{\"name\":\"Ann\",\"age\":41,\"tags\":[]}"},           // minItems
                {PERSON, "{\"name\":\"Ann\",\"age\":41,\"tags\":[\"d\"]}"},      // not in the enum
                {PERSON, "{\"name\":\"a very long name\",\"age\":1,\"tags\":[\"a\"]}"},   // maxLength
                {PERSON, "{\"name\":\"Ann\",\"age\":041,\"tags\":[\"a\"]}"},     // leading zero: not JSON
                {PERSON, "{\"name\":\"A\u0001\",\"age\":1,\"tags\":[\"a\"]}"},   // raw control character
                {TREE, "{\"value\":1,\"children\":[{\"value\":2},{\"value\":3,\"children\":[]}]}"},
                {TREE, "{\"value\":1,\"children\":[{\"value\":2},{\"value\":3},{\"value\":4}]}"},   // maxItems
                {SHAPES, "{\"kind\":\"square\",\"side\":2}"},
                {SHAPES, "{\"kind\":\"square\",\"r\":2}"},
                {"{\"enum\": [1, 12]}", "12"},
                {"{\"enum\": [1, 12]}", "123"},
                {"{\"type\": \"object\"}", "{\"a\":[1,{\"b\":null}],\"c\":\"x\"}"},
                {"{\"type\": \"object\"}", "[1]"},
        };
        for (String[] c : cases) {
            boolean expected = new JsonValidator(c[0]).valid(c[1]);
            assertEquals(expected, accepts(JsonSchema.compile(c[0]), c[1]), () -> c[1] + " against " + c[0]);
        }
        // the cases above are not all of one kind
        assertTrue(new JsonValidator(PERSON).valid("{\"name\":\"Ann\",\"age\":41,\"tags\":[\"a\"]}"));
        assertFalse(new JsonValidator(PERSON).valid("{\"name\":\"Ann\",\"age\":41}"));
    }

    @Test
    void costsAreExactInsideEscapesSequencesAndKeys() {
        String[][] cases = {
                {"{\"type\": \"string\", \"minLength\": 3}", "\"\\u00", "\"\\", "\"a\\u", "\"\u00e9"},
                {PERSON, "{\"na", "{\"name\":\"\\", "{\"name\":\"x\",\"age\":-", "{\"name\":\"x\",\"age\":1,\"tags\":[\"a\"],\"sc"},
                {"{\"type\": \"number\"}", "1.", "1e", "1e-", "-"},
        };
        JsonMatcher.Out out = new JsonMatcher.Out();
        for (String[] c : cases) {
            JsonSchema schema = JsonSchema.compile(c[0]);
            for (int i = 1; i < c.length; i++) {
                byte[] prefix = c[i].getBytes(StandardCharsets.ISO_8859_1);   // \u00e9 as its first UTF-8 byte alone
                if (c[i].endsWith("\u00e9")) {
                    prefix[prefix.length - 1] = (byte) 0xC3;
                }
                JsonMatcher.Config[] s = JsonMatcher.start(schema);
                for (byte b : prefix) {
                    s = JsonMatcher.advance(s, b & 0xff, out);
                    assertNotNull(s, c[i]);
                }
                ByteArrayOutputStream doc = new ByteArrayOutputStream();
                doc.writeBytes(prefix);
                assertCostIsExact(s, doc);
            }
        }
    }

    @Test
    void oneOfIsAcceptedOnlyWhenItsBranchesCannotOverlap() {
        for (String ok : List.of("{\"oneOf\": [{\"type\": \"string\"}, {\"type\": \"null\"}]}",
                "{\"oneOf\": [{\"type\": \"object\", \"properties\": {\"kind\": {\"const\": \"a\"}, \"x\": {}}, \"required\": [\"kind\"]},"
                        + " {\"type\": \"object\", \"properties\": {\"kind\": {\"const\": \"b\"}}, \"required\": [\"kind\"]}]}",
                "{\"oneOf\": [{\"enum\": [\"x\", \"y\"]}, {\"enum\": [\"z\"]}]}")) {
            JsonSchema.compile(ok);
        }
        for (String overlapping : List.of("{\"oneOf\": [{\"type\": \"integer\"}, {\"type\": \"number\"}]}",
                "{\"oneOf\": [{\"type\": \"object\", \"properties\": {\"a\": {}}}, {\"type\": \"object\", \"properties\": {\"b\": {}}}]}",
                "{\"oneOf\": [{\"enum\": [1]}, {\"enum\": [1.0]}]}",
                "{\"$defs\": {\"a\": {\"anyOf\": [{\"$ref\": \"#/$defs/a\"}, {\"type\": \"string\"}]}},"
                        + " \"oneOf\": [{\"$ref\": \"#/$defs/a\"}, {\"type\": \"string\"}]}")) {
            SchemaException e = assertThrows(SchemaException.class, () -> JsonSchema.compile(overlapping), overlapping);
            assertTrue(e.getMessage().contains("oneOf") || e.getMessage().contains("$ref"), e.getMessage());
        }
    }

    @Test
    void escapesOfHangulAreWrittenButNotSurrogateHalves() {
        JsonSchema schema = JsonSchema.compile("{\"type\": \"string\"}");
        assertTrue(accepts(schema, "\"\\ud55c\\uD7A3\""), "U+D55C and U+D7A3 as escapes");
        assertFalse(accepts(schema, "\"\\ud83d\\ude00\""), "a surrogate pair is not written (the raw UTF-8 is)");
        JsonSchema hangul = JsonSchema.compile("{\"type\": \"string\", \"pattern\": \"^(한|해)+$\"}");
        assertTrue(accepts(hangul, "\"\\ud55c\\ud574\""));
        assertTrue(accepts(hangul, "\"한해\""));
    }

    @Test
    void manyAlternativesSharingAPrefixStayAlive() {
        StringBuilder b = new StringBuilder("{\"type\": \"array\", \"minItems\": 1, \"items\": {\"anyOf\": [");
        for (int i = 0; i < 40; i++) {
            b.append(i == 0 ? "" : ", ").append("{\"type\": \"object\", \"properties\": {\"name\": {\"const\": \"t").append(i)
                    .append("\"}, \"arguments\": {\"type\": \"object\"}}, \"required\": [\"name\", \"arguments\"]}");
        }
        JsonSchema schema = JsonSchema.compile(b.append("]}}").toString());
        assertTrue(accepts(schema, "[{\"name\":\"t39\",\"arguments\":{}}]"), "the 40th tool can be called");
        assertTrue(accepts(schema, "[{\"name\":\"t0\",\"arguments\":{}},{\"name\":\"t33\",\"arguments\":{\"x\":1}}]"));
    }

    @Test
    void whitespaceIsBounded() {
        JsonSchema schema = JsonSchema.compile("{\"type\": \"array\"}");
        assertTrue(accepts(schema, "[" + " ".repeat(JsonMatcher.MAX_WHITESPACE) + "1]"));
        assertFalse(accepts(schema, "[" + " ".repeat(JsonMatcher.MAX_WHITESPACE + 1) + "1]"));
        assertFalse(accepts(schema, " []"), "no whitespace before the document");
        assertFalse(accepts(schema, "[] "), "nothing after it");
    }

    @Test
    void invalidUtf8IsNeverWritten() {
        JsonSchema schema = JsonSchema.compile("{\"type\": \"string\"}");
        JsonMatcher.Out out = new JsonMatcher.Out();
        JsonMatcher.Config[] open = JsonMatcher.advance(JsonMatcher.start(schema), '"', out);
        for (int[] bad : new int[][]{{0xC0, 0x80}, {0xE0, 0x80}, {0xED, 0xA0}, {0xF4, 0x90}, {0xF5}, {0x80}, {0xC3, 0x28}}) {
            JsonMatcher.Config[] s = open;
            for (int b : bad) {
                s = s == null ? null : JsonMatcher.advance(s, b, out);
            }
            if (s != null) {
                fail("accepted bytes " + java.util.Arrays.toString(bad));
            }
        }
        assertTrue(accepts(schema, "\"é€😀\""));
    }

    static boolean accepts(JsonSchema schema, String doc) {
        JsonMatcher.Out out = new JsonMatcher.Out();
        JsonMatcher.Config[] s = JsonMatcher.start(schema);
        for (byte b : doc.getBytes(StandardCharsets.UTF_8)) {
            s = JsonMatcher.advance(s, b & 0xff, out);
            if (s == null) {
                return false;
            }
        }
        return JsonMatcher.complete(s);
    }
}
