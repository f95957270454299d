package io.trillium.json;

import java.util.List;

/** Schemas the structured-output tests share: nested objects, recursion, anyOf, enums, free-form objects. */
public final class TestSchemas {
    private TestSchemas() {
    }

    public static final String PERSON = """
            {"type": "object", "properties": {
              "name": {"type": "string", "maxLength": 12},
              "age": {"type": "integer"},
              "tags": {"type": "array", "items": {"type": "string", "enum": ["a", "b", "c"]}, "minItems": 1, "maxItems": 3},
              "address": {"type": "object", "properties": {
                  "city": {"type": "string", "minLength": 2}, "zip": {"type": ["string", "null"]}}, "required": ["city"]},
              "score": {"type": "number"},
              "ok": {"type": "boolean"}},
             "required": ["name", "age", "tags"]}""";
    public static final String TREE = """
            {"$defs": {"node": {"type": "object", "properties": {
               "value": {"type": "integer"},
               "children": {"type": "array", "items": {"$ref": "#/$defs/node"}, "maxItems": 2}},
             "required": ["value"]}},
             "$ref": "#/$defs/node"}""";
    public static final String SHAPES = """
            {"anyOf": [
              {"type": "object", "properties": {"kind": {"const": "circle"}, "r": {"type": "number"}}, "required": ["kind", "r"]},
              {"type": "object", "properties": {"kind": {"const": "square"}, "side": {"type": "number"}}, "required": ["kind", "side"]}]}""";

    public static List<String> all() {
        return List.of(PERSON, TREE, SHAPES,
                "{\"type\": \"object\"}",
                "{\"type\": \"array\", \"items\": {\"type\": \"integer\"}, \"minItems\": 2, \"maxItems\": 4}",
                "{\"enum\": [1, 12, \"x\", null, true, {\"k\": [1, 2]}]}",
                "{\"type\": \"object\", \"properties\": {\"a\": {\"type\": \"integer\"}, \"ab\": {\"type\": \"boolean\"},"
                        + " \"abc\": {\"type\": \"string\", \"minLength\": 3, \"maxLength\": 5}}}",
                "{\"type\": \"object\", \"additionalProperties\": {\"type\": \"number\"}}",
                "{\"type\": \"object\", \"properties\": {\"x\": {\"anyOf\": [{\"type\": \"integer\"}, {\"type\": \"number\"}]},"
                        + " \"y\": {}, \"z\": {\"type\": [\"string\", \"null\"]}}, \"required\": [\"x\", \"y\", \"z\"]}");
    }
}
