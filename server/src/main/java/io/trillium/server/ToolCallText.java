package io.trillium.server;

import com.fasterxml.jackson.databind.JsonNode;
import io.trillium.chat.ToolCall;
import io.trillium.chat.ToolCalls;

import java.util.ArrayList;
import java.util.List;

/** The calls of a forced answer (tool_choice required or named), written as JSON under a schema. */
final class ToolCallText {
    private ToolCallText() {
    }

    /** One {@code {"name", "arguments"}} object or an array of them; none if it does not parse. */
    static List<ToolCall> forced(String text) {
        List<ToolCall> calls = new ArrayList<>();
        try {
            JsonNode n = RequestParser.JSON.readTree(text);
            for (JsonNode c : n.isArray() ? n : List.of(n)) {
                calls.add(new ToolCall(ToolCalls.newId(), c.get("name").textValue(), calls.size(), c.get("arguments").toString()));
            }
            return calls;
        } catch (java.io.IOException | RuntimeException e) {
            return List.of();
        }
    }
}
