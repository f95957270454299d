package io.trillium.chat;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/**
 * Tool calls in generated text, in the formats of the built-in templates: Kimi's
 * {@code <|tool_calls_section_begin|>} section ({@link KimiToolCalls}), DeepSeek's
 * {@code <｜tool▁calls▁begin｜>} calls (V3's {@code function<｜tool▁sep｜>name} with fenced JSON, and V3.1's
 * {@code name<｜tool▁sep｜>json}), the {@code <tool_call>{"name": …, "arguments": {…}}</tool_call>} blocks of
 * chatml/Qwen templates, and Llama 3.1's whole-reply {@code {"name": …, "parameters": {…}}}. Text
 * that is not a well-formed call stays content: a model that writes half a call gets its text back,
 * not an error. Calls without an id get a fresh {@code call_…} id.
 */
public final class ToolCalls {
    private static final String OPEN = "<tool_call>";
    private static final String CLOSE = "</tool_call>";
    static final String DS_CALLS_BEGIN = "<｜tool▁calls▁begin｜>";
    static final String DS_CALLS_END = "<｜tool▁calls▁end｜>";
    static final String DS_CALL_BEGIN = "<｜tool▁call▁begin｜>";
    static final String DS_CALL_END = "<｜tool▁call▁end｜>";
    static final String DS_SEP = "<｜tool▁sep｜>";
    private static final String PYTHON_TAG = "<|python_tag|>";

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
        if (text.contains(DS_CALLS_BEGIN)) {
            Parsed p = deepseek(text);
            if (p != null) {
                return p;
            }
        }
        Parsed llama = llama(text);
        if (llama != null) {
            return llama;
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

    /** DeepSeek V3 / V3.1 calls; null when the section is malformed (the text then stays content). */
    private static Parsed deepseek(String text) {
        int begin = text.indexOf(DS_CALLS_BEGIN);
        int end = text.indexOf(DS_CALLS_END, begin);
        String section = text.substring(begin + DS_CALLS_BEGIN.length(), end < 0 ? text.length() : end);
        List<ToolCall> calls = new ArrayList<>();
        int at = 0;
        while (true) {
            int b = section.indexOf(DS_CALL_BEGIN, at);
            if (b < 0) {
                break;
            }
            int e = section.indexOf(DS_CALL_END, b);
            int sep = section.indexOf(DS_SEP, b);
            if (e < 0 || sep < 0 || sep > e) {
                return null;
            }
            String head = section.substring(b + DS_CALL_BEGIN.length(), sep).strip();
            String body = section.substring(sep + DS_SEP.length(), e);
            String name;
            String args;
            int nl = body.indexOf('\n');
            if (head.equals("function") && nl >= 0) {   // V3: type, then the name, then fenced JSON
                name = body.substring(0, nl).strip();
                args = body.substring(nl + 1).strip();
                if (args.startsWith("```json")) {
                    args = args.substring(7);
                } else if (args.startsWith("```")) {
                    args = args.substring(3);
                }
                if (args.endsWith("```")) {
                    args = args.substring(0, args.length() - 3);
                }
                args = args.strip();
            } else {   // V3.1: the name, then the JSON
                name = head;
                args = body.strip();
            }
            if (name.isEmpty() || !isJsonObject(args)) {
                return null;
            }
            calls.add(new ToolCall(newId(), name, calls.size(), args));
            at = e + DS_CALL_END.length();
        }
        if (calls.isEmpty()) {
            return null;
        }
        String after = end < 0 ? "" : text.substring(end + DS_CALLS_END.length());
        return new Parsed((text.substring(0, begin) + after).strip(), calls);
    }

    /** Llama 3.1: the whole reply (after an optional python tag) is one {"name", "parameters"} object. */
    private static Parsed llama(String text) {
        String t = text.strip();
        if (t.startsWith(PYTHON_TAG)) {
            t = t.substring(PYTHON_TAG.length()).strip();
        }
        if (!t.startsWith("{") || !t.endsWith("}")) {
            return null;
        }
        try {
            JsonNode n = Message.JSON.readTree(t);
            if (n == null || !n.isObject() || !n.path("name").isTextual() || n.size() != 2
                    || !(n.path("parameters").isObject() || n.path("arguments").isObject())) {
                return null;
            }
            JsonNode args = n.has("parameters") ? n.get("parameters") : n.get("arguments");
            return new Parsed("", List.of(new ToolCall(newId(), n.get("name").textValue(), 0, args.toString())));
        } catch (java.io.IOException | RuntimeException e) {
            return null;
        }
    }

    private static boolean isJsonObject(String s) {
        try {
            JsonNode n = Message.JSON.readTree(s);
            return n != null && n.isObject();
        } catch (java.io.IOException | RuntimeException e) {
            return false;
        }
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
