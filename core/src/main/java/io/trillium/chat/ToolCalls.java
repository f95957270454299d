package io.trillium.chat;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/**
 * Tool calls in generated text, in the formats of the built-in templates: Kimi's
 * {@code <|tool_calls_section_begin|>} section ({@link KimiToolCalls}) and the
 * {@code <tool_call>{"name": …, "arguments": {…}}</tool_call>} blocks of chatml/Qwen templates. Text
 * that is not a well-formed call stays content: a model that writes half a call gets its text back,
 * not an error. Calls without an id get a fresh {@code call_…} id.
 */
public final class ToolCalls {
    private static final String OPEN = "<tool_call>";
    private static final String CLOSE = "</tool_call>";

    private ToolCalls() {
    }

    /** The text outside the calls, and the calls in order (none: the text is all content). */
    public record Parsed(String content, List<ToolCall> calls) {
        public Parsed {
            calls = List.copyOf(calls);
        }
    }

    public static Parsed parse(String text) {
        if (text.contains(KimiToolCalls.SECTION_BEGIN)) {
            try {
                KimiToolCalls.Parsed p = KimiToolCalls.parse(text);
                List<ToolCall> calls = new ArrayList<>();
                for (ToolCall c : p.calls()) {
                    calls.add(new ToolCall(c.id() == null || c.id().isEmpty() ? newId() : c.id(), c.name(), c.index(),
                            c.argumentsJson()));
                }
                return new Parsed(p.content(), calls);
            } catch (IllegalArgumentException e) {
                return new Parsed(text, List.of());
            }
        }
        List<ToolCall> calls = new ArrayList<>();
        StringBuilder content = new StringBuilder();
        int at = 0;
        while (true) {
            int open = text.indexOf(OPEN, at);
            int close = open < 0 ? -1 : text.indexOf(CLOSE, open);
            if (close < 0) {
                content.append(text, at, text.length());
                break;
            }
            ToolCall call = hermes(text.substring(open + OPEN.length(), close).strip(), calls.size());
            if (call == null) {
                content.append(text, at, close + CLOSE.length());
            } else {
                content.append(text, at, open);
                calls.add(call);
            }
            at = close + CLOSE.length();
        }
        return new Parsed(calls.isEmpty() ? text : content.toString().strip(), calls);
    }

    private static ToolCall hermes(String body, int index) {
        try {
            JsonNode n = Message.JSON.readTree(body);
            if (n == null || !n.isObject() || !n.path("name").isTextual()) {
                return null;
            }
            JsonNode args = n.has("arguments") ? n.get("arguments") : n.path("parameters");
            String json = args.isMissingNode() || args.isNull() ? "{}" : args.isTextual() ? args.textValue() : args.toString();
            return new ToolCall(newId(), n.get("name").textValue(), index, json);
        } catch (java.io.IOException | RuntimeException e) {
            return null;
        }
    }

    /** A fresh id in OpenAI's style. */
    public static String newId() {
        return "call_" + UUID.randomUUID().toString().replace("-", "").substring(0, 24);
    }
}
