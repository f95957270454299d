package io.trillium.json;

import com.networknt.schema.Error;
import com.networknt.schema.Schema;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SpecificationVersion;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.junit.jupiter.api.Assertions.fail;

/**
 * The independent check of structured output: a strict parser (Jackson 3) and networknt's JSON Schema
 * validator (draft 2020-12), neither of which shares code with {@link JsonSchema} or {@link JsonMatcher}.
 */
public final class Validator {
    private static final JsonMapper JSON = JsonMapper.builder()
            .enable(tools.jackson.databind.DeserializationFeature.FAIL_ON_TRAILING_TOKENS).build();
    private static final SchemaRegistry REGISTRY = SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_2020_12);
    private final Schema schema;
    private final String source;

    public Validator(String schema) {
        this.schema = REGISTRY.getSchema(schema);
        this.source = schema;
    }

    /** Fails unless {@code document} is one JSON value that the schema accepts. */
    public JsonNode assertValid(byte[] document) {
        return assertValid(new String(document, StandardCharsets.UTF_8));
    }

    /** Fails unless {@code document} is one JSON value that the schema accepts. */
    public JsonNode assertValid(String document) {
        JsonNode node;
        try {
            node = JSON.readTree(document);
        } catch (RuntimeException e) {
            return fail("not JSON: <" + document + ">: " + e.getMessage());
        }
        List<Error> errors = schema.validate(node);
        if (!errors.isEmpty()) {
            fail("<" + document + "> does not match " + source + ": " + errors);
        }
        return node;
    }

    /** Whether the schema accepts {@code document} (which must be JSON). */
    public boolean valid(String document) {
        try {
            return schema.validate(JSON.readTree(document)).isEmpty();
        } catch (RuntimeException e) {
            return false;
        }
    }
}
