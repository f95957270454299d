package io.trillium.server;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import io.trillium.api.SamplerChain;
import io.trillium.api.Samplers;
import io.trillium.chat.Message;
import io.trillium.chat.ToolCall;
import io.trillium.json.JsonSchema;
import io.trillium.json.SchemaException;
import io.trillium.sample.Sampler;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * OpenAI request bodies → what to generate. Every field the server uses is checked for presence,
 * type and range, with OpenAI's error shape naming the field ({@link ApiError}); fields it does not
 * use ({@code user}, {@code metadata}, …) are ignored as OpenAI clients send them freely. Pure: no
 * model is touched, so the fuzz test drives it alone.
 */
final class RequestParser {
    static final ObjectMapper JSON = JsonMapper.builder()
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .build();

    static {
        // a body is at most a few MiB, but nesting and numbers are bounded so no input can exhaust the stack
        JSON.getFactory().setStreamReadConstraints(StreamReadConstraints.builder()
                .maxNestingDepth(256).maxNumberLength(100).maxStringLength(16 << 20).build());
    }

    private RequestParser() {
    }

    /** A parsed request. {@code maxTokens} 0: not given. */
    record Parsed(String model, List<Message> messages, String prompt, int[] promptIds, int maxTokens, Sampler sampler,
                  long seed, List<String> stop, boolean stream, boolean includeUsage, boolean logprobs, int topLogprobs,
                  JsonSchema responseFormat, List<Object> tools, boolean echo, boolean toolsForced) {
    }

    static JsonNode parse(byte[] body) {
        if (body.length == 0) {
            throw ApiError.invalid(null, "empty request body: expected a JSON object");
        }
        JsonNode n;
        try {
            n = JSON.readTree(body);
        } catch (JsonProcessingException e) {
            throw ApiError.invalid(null, "malformed JSON in request body: " + e.getOriginalMessage());
        } catch (java.io.IOException | RuntimeException e) {
            throw ApiError.invalid(null, "unreadable request body: " + e.getMessage());
        }
        if (n == null || !n.isObject()) {
            throw ApiError.invalid(null, "request body must be a JSON object");
        }
        return n;
    }

    /** {@code POST /v1/chat/completions}. */
    static Parsed chat(JsonNode n) {
        String model = requiredText(n, "model");
        JsonNode ms = n.get("messages");
        if (ms == null || ms.isNull()) {
            throw ApiError.invalid("messages", "missing required field 'messages'");
        }
        if (!ms.isArray() || ms.isEmpty()) {
            throw ApiError.invalid("messages", "'messages' must be a non-empty array");
        }
        List<Message> messages = new ArrayList<>();
        for (int i = 0; i < ms.size(); i++) {
            messages.add(message(ms.get(i), "messages[" + i + "]"));
        }
        List<Object> tools = tools(n);
        String choice = toolChoice(n);
        if ("none".equals(choice)) {
            tools = null;
        }
        JsonSchema format = responseFormat(n);
        boolean forced = false;
        if (!choice.equals("auto") && !choice.equals("none")) {
            if (tools == null) {
                throw ApiError.invalid("tool_choice", "tool_choice '" + choice + "' needs 'tools'");
            }
            if (format != null) {
                throw ApiError.invalid("response_format", "response_format cannot be combined with tool_choice " + choice);
            }
            format = toolCallSchema(n.get("tools"), choice);
            forced = true;
        }
        int maxTokens = optionalInt(n, "max_completion_tokens", 1, Integer.MAX_VALUE, 0);
        if (maxTokens == 0) {
            maxTokens = optionalInt(n, "max_tokens", 1, Integer.MAX_VALUE, 0);
        }
        boolean logprobs = optionalBool(n, "logprobs", false);
        int top = optionalInt(n, "top_logprobs", 0, 20, 0);
        if (top > 0 && !logprobs) {
            throw ApiError.invalid("top_logprobs", "top_logprobs requires logprobs: true");
        }
        return new Parsed(model, messages, null, null, maxTokens, sampler(n), seed(n), stop(n), stream(n),
                includeUsage(n), logprobs, top, format, tools, false, forced);
    }

    /** {@code POST /v1/completions}: prompt text, or token ids. */
    static Parsed completion(JsonNode n) {
        String model = requiredText(n, "model");
        JsonNode p = n.get("prompt");
        String text = null;
        int[] ids = null;
        if (p == null || p.isNull()) {
            throw ApiError.invalid("prompt", "missing required field 'prompt'");
        } else if (p.isTextual()) {
            text = p.textValue();
        } else if (p.isArray() && p.size() == 1 && p.get(0).isTextual()) {
            text = p.get(0).textValue();
        } else if (p.isArray() && !p.isEmpty() && allInts(p)) {
            ids = new int[p.size()];
            for (int i = 0; i < ids.length; i++) {
                ids[i] = p.get(i).intValue();
            }
        } else if (p.isArray() && p.size() == 1 && p.get(0).isArray() && !p.get(0).isEmpty() && allInts(p.get(0))) {
            JsonNode a = p.get(0);
            ids = new int[a.size()];
            for (int i = 0; i < ids.length; i++) {
                ids[i] = a.get(i).intValue();
            }
        } else {
            throw ApiError.invalid("prompt", "'prompt' must be a string or an array of token ids (one prompt per request)");
        }
        if (text != null && text.isEmpty()) {
            throw ApiError.invalid("prompt", "'prompt' is empty");
        }
        int maxTokens = optionalInt(n, "max_tokens", 1, Integer.MAX_VALUE, 0);
        int logprobs = optionalInt(n, "logprobs", 0, 20, -1);
        return new Parsed(model, null, text, ids, maxTokens, sampler(n), seed(n), stop(n), stream(n), includeUsage(n),
                logprobs >= 0, Math.max(0, logprobs), responseFormat(n), null, optionalBool(n, "echo", false), false);
    }

    private static boolean allInts(JsonNode a) {
        for (JsonNode x : a) {
            if (!x.isInt()) {
                return false;
            }
        }
        return true;
    }

    private static Message message(JsonNode m, String where) {
        if (!m.isObject()) {
            throw ApiError.invalid(where, where + " must be an object");
        }
        String role = requiredText(m, "role", where + ".role");
        String content = content(m.get("content"), where + ".content");
        String name = optionalText(m, "name", where + ".name");
        return switch (role) {
            case "system", "developer", "user" -> {
                if (content == null) {
                    throw ApiError.invalid(where + ".content", "missing required field '" + where + ".content'");
                }
                yield new Message(role.equals("developer") ? "system" : role, content, name, null, null, List.of());
            }
            case "assistant" -> {
                List<ToolCall> calls = toolCalls(m.get("tool_calls"), where + ".tool_calls");
                if (content == null && calls.isEmpty()) {
                    content = "";
                }
                String reasoning = optionalText(m, "reasoning_content", where + ".reasoning_content");
                yield new Message("assistant", content, name, null, reasoning, calls);
            }
            case "tool" -> {
                String id = requiredText(m, "tool_call_id", where + ".tool_call_id");
                yield new Message("tool", content == null ? "" : content, name, id, null, List.of());
            }
            default -> throw ApiError.invalid(where + ".role", "unknown role '" + role
                    + "' (expected system, developer, user, assistant or tool)");
        };
    }

    /** A message's content: a string, or an array of text parts (joined); null when absent. */
    private static String content(JsonNode c, String where) {
        if (c == null || c.isNull()) {
            return null;
        }
        if (c.isTextual()) {
            return c.textValue();
        }
        if (c.isArray()) {
            StringBuilder b = new StringBuilder();
            for (int i = 0; i < c.size(); i++) {
                JsonNode part = c.get(i);
                String type = part.isObject() ? part.path("type").asText("") : "";
                if (!type.equals("text") || !part.path("text").isTextual()) {
                    throw ApiError.invalid(where + "[" + i + "]", "only text content parts ({\"type\": \"text\", \"text\": …}) are supported");
                }
                b.append(part.get("text").textValue());
            }
            return b.toString();
        }
        throw ApiError.invalid(where, where + " must be a string or an array of text parts");
    }

    private static List<ToolCall> toolCalls(JsonNode calls, String where) {
        if (calls == null || calls.isNull()) {
            return List.of();
        }
        if (!calls.isArray()) {
            throw ApiError.invalid(where, where + " must be an array");
        }
        List<ToolCall> out = new ArrayList<>();
        for (int i = 0; i < calls.size(); i++) {
            JsonNode c = calls.get(i);
            String w = where + "[" + i + "]";
            if (!c.isObject() || !c.path("function").isObject()) {
                throw ApiError.invalid(w, w + " must be an object with a 'function' object");
            }
            JsonNode f = c.get("function");
            String name = requiredText(f, "name", w + ".function.name");
            JsonNode args = f.get("arguments");
            String arguments = args == null || args.isNull() ? "{}" : args.isTextual() ? args.textValue() : args.toString();
            String id = c.path("id").isTextual() ? c.get("id").textValue() : "call_" + i;
            out.add(new ToolCall(id, name, i, arguments));
        }
        return out;
    }

    private static List<Object> tools(JsonNode n) {
        JsonNode t = n.get("tools");
        if (t == null || t.isNull()) {
            return null;
        }
        if (!t.isArray()) {
            throw ApiError.invalid("tools", "'tools' must be an array");
        }
        List<Object> out = new ArrayList<>();
        for (int i = 0; i < t.size(); i++) {
            JsonNode tool = t.get(i);
            String w = "tools[" + i + "]";
            if (!tool.isObject() || !"function".equals(tool.path("type").asText(null)) || !tool.path("function").isObject()) {
                throw ApiError.invalid(w, w + " must be {\"type\": \"function\", \"function\": {…}}");
            }
            requiredText(tool.get("function"), "name", w + ".function.name");
            JsonNode params = tool.get("function").get("parameters");
            if (params != null && !params.isObject()) {
                throw ApiError.invalid(w + ".function.parameters", "parameters must be a JSON Schema object");
            }
            out.add(JSON.convertValue(tool, Map.class));
        }
        return out.isEmpty() ? null : out;
    }

    private static String toolChoice(JsonNode n) {
        JsonNode c = n.get("tool_choice");
        if (c == null || c.isNull()) {
            return "auto";
        }
        if (c.isTextual() && List.of("none", "auto", "required").contains(c.textValue())) {
            return c.textValue();
        }
        if (c.isObject() && c.path("function").path("name").isTextual()) {
            return "function:" + c.get("function").get("name").textValue();
        }
        throw ApiError.invalid("tool_choice", "'tool_choice' must be none, auto, required or {\"type\": \"function\", \"function\": {\"name\": …}}");
    }

    /**
     * What a forced call looks like: with {@code required}, a JSON array of one or more
     * {@code {"name": tool, "arguments": {its parameters}}}; with a named function, one such object.
     * The output is constrained to it, so the call always parses and its arguments match the tool's
     * parameters (the way vLLM serves {@code required}).
     */
    private static JsonSchema toolCallSchema(JsonNode tools, String choice) {
        com.fasterxml.jackson.databind.node.ArrayNode alternatives = JSON.createArrayNode();
        String named = choice.startsWith("function:") ? choice.substring("function:".length()) : null;
        int index = -1;
        for (int i = 0; i < tools.size(); i++) {
            JsonNode f = tools.get(i).get("function");
            String name = f.get("name").textValue();
            if (named != null && !named.equals(name)) {
                continue;
            }
            index = i;
            com.fasterxml.jackson.databind.node.ObjectNode call = alternatives.addObject().put("type", "object");
            com.fasterxml.jackson.databind.node.ObjectNode props = call.putObject("properties");
            props.putObject("name").put("const", name);
            JsonNode params = f.get("parameters");
            props.set("arguments", params == null ? JSON.createObjectNode().put("type", "object") : params);
            call.putArray("required").add("name").add("arguments");
        }
        if (alternatives.isEmpty()) {
            throw ApiError.invalid("tool_choice", "tool_choice names function '" + named + "', which is not in 'tools'");
        }
        JsonNode schema;
        if (named != null) {
            schema = alternatives.get(0);
        } else {
            com.fasterxml.jackson.databind.node.ObjectNode array = JSON.createObjectNode().put("type", "array").put("minItems", 1);
            array.putObject("items").set("anyOf", alternatives);
            schema = array;
        }
        try {
            return JsonSchema.compile(schema);
        } catch (RuntimeException e) {
            throw ApiError.invalid(named != null ? "tools[" + index + "].function.parameters" : "tools", "invalid_json_schema",
                    "a tool's parameters cannot constrain a forced call: " + e.getMessage());
        }
    }

    private static JsonSchema responseFormat(JsonNode n) {
        JsonNode f = n.get("response_format");
        if (f == null || f.isNull()) {
            return null;
        }
        if (!f.isObject()) {
            throw ApiError.invalid("response_format", "'response_format' must be an object");
        }
        String type = requiredText(f, "type", "response_format.type");
        switch (type) {
            case "text":
                return null;
            case "json_object":
                return JsonSchema.anyObject();
            case "json_schema": {
                JsonNode js = f.get("json_schema");
                if (js == null || !js.isObject()) {
                    throw ApiError.invalid("response_format.json_schema", "missing object 'response_format.json_schema'");
                }
                JsonNode schema = js.get("schema");
                if (schema == null || schema.isNull()) {
                    throw ApiError.invalid("response_format.json_schema.schema", "missing 'response_format.json_schema.schema'");
                }
                try {
                    return JsonSchema.compile(schema);
                } catch (SchemaException e) {
                    throw ApiError.invalid("response_format.json_schema.schema", "invalid_json_schema", e.getMessage());
                } catch (RuntimeException e) {
                    throw ApiError.invalid("response_format.json_schema.schema", "invalid_json_schema",
                            "schema could not be compiled: " + e.getMessage());
                }
            }
            default:
                throw ApiError.invalid("response_format.type", "unknown response_format type '" + type
                        + "' (expected text, json_object or json_schema)");
        }
    }

    private static Sampler sampler(JsonNode n) {
        if (n.has("n") && !n.get("n").isNull()) {
            int count = optionalInt(n, "n", 1, 128, 1);
            if (count != 1) {
                throw ApiError.invalid("n", "only n = 1 is supported");
            }
        }
        double t = optionalDouble(n, "temperature", 0, 2, 1);
        double p = optionalDouble(n, "top_p", 0, 1, 1);
        double freq = optionalDouble(n, "frequency_penalty", -2, 2, 0);
        double pres = optionalDouble(n, "presence_penalty", -2, 2, 0);
        if (p <= 0) {
            throw ApiError.invalid("top_p", "'top_p' must be > 0");
        }
        Map<Integer, Float> bias = new HashMap<>();
        JsonNode lb = n.get("logit_bias");
        if (lb != null && !lb.isNull()) {
            if (!lb.isObject()) {
                throw ApiError.invalid("logit_bias", "'logit_bias' must be an object of token id → bias");
            }
            for (Iterator<Map.Entry<String, JsonNode>> it = lb.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                int id;
                try {
                    id = Integer.parseInt(e.getKey());
                } catch (NumberFormatException x) {
                    throw ApiError.invalid("logit_bias", "logit_bias key '" + e.getKey() + "' is not a token id");
                }
                if (!e.getValue().isNumber() || Math.abs(e.getValue().doubleValue()) > 100 || id < 0) {
                    throw ApiError.invalid("logit_bias", "logit_bias of token " + e.getKey() + " must be a number in -100..100");
                }
                bias.put(id, e.getValue().floatValue());
            }
        }
        if (t == 0 && freq == 0 && pres == 0 && bias.isEmpty()) {
            return null;   // greedy
        }
        SamplerChain c = Samplers.builder().temperature(t).topP(p);
        if (freq != 0) {
            c = c.frequencyPenalty(freq);
        }
        if (pres != 0) {
            c = c.presencePenalty(pres);
        }
        if (!bias.isEmpty()) {
            c = c.logitBias(bias);
        }
        return c;
    }

    private static long seed(JsonNode n) {
        JsonNode s = n.get("seed");
        if (s == null || s.isNull()) {
            return java.util.concurrent.ThreadLocalRandom.current().nextLong();   // as OpenAI: unseeded runs differ
        }
        if (!s.isIntegralNumber() || !s.canConvertToLong()) {
            throw ApiError.invalid("seed", "'seed' must be an integer");
        }
        return s.longValue();
    }

    private static List<String> stop(JsonNode n) {
        JsonNode s = n.get("stop");
        if (s == null || s.isNull()) {
            return List.of();
        }
        List<String> out = new ArrayList<>();
        if (s.isTextual()) {
            out.add(s.textValue());
        } else if (s.isArray() && s.size() <= 4) {
            for (JsonNode x : s) {
                if (!x.isTextual()) {
                    throw ApiError.invalid("stop", "'stop' must be a string or an array of up to 4 strings");
                }
                out.add(x.textValue());
            }
        } else {
            throw ApiError.invalid("stop", "'stop' must be a string or an array of up to 4 strings");
        }
        for (String x : out) {
            if (x.isEmpty()) {
                throw ApiError.invalid("stop", "stop strings must not be empty");
            }
        }
        return out;
    }

    private static boolean stream(JsonNode n) {
        return optionalBool(n, "stream", false);
    }

    private static boolean includeUsage(JsonNode n) {
        JsonNode o = n.get("stream_options");
        if (o == null || o.isNull()) {
            return false;
        }
        if (!o.isObject()) {
            throw ApiError.invalid("stream_options", "'stream_options' must be an object");
        }
        return optionalBool(o, "include_usage", false);
    }

    private static String requiredText(JsonNode n, String field) {
        return requiredText(n, field, field);
    }

    private static String requiredText(JsonNode n, String field, String where) {
        JsonNode v = n.get(field);
        if (v == null || v.isNull()) {
            throw ApiError.invalid(where, "missing required field '" + where + "'");
        }
        if (!v.isTextual()) {
            throw ApiError.invalid(where, "'" + where + "' must be a string");
        }
        return v.textValue();
    }

    private static String optionalText(JsonNode n, String field, String where) {
        JsonNode v = n.get(field);
        if (v == null || v.isNull()) {
            return null;
        }
        if (!v.isTextual()) {
            throw ApiError.invalid(where, "'" + where + "' must be a string");
        }
        return v.textValue();
    }

    private static boolean optionalBool(JsonNode n, String field, boolean absent) {
        JsonNode v = n.get(field);
        if (v == null || v.isNull()) {
            return absent;
        }
        if (!v.isBoolean()) {
            throw ApiError.invalid(field, "'" + field + "' must be a boolean");
        }
        return v.booleanValue();
    }

    private static int optionalInt(JsonNode n, String field, int min, int max, int absent) {
        JsonNode v = n.get(field);
        if (v == null || v.isNull()) {
            return absent;
        }
        if (!v.isIntegralNumber() || !v.canConvertToInt() || v.intValue() < min || v.intValue() > max) {
            throw ApiError.invalid(field, "'" + field + "' must be an integer in " + min + ".." + max + ", got " + abbreviate(v));
        }
        return v.intValue();
    }

    private static double optionalDouble(JsonNode n, String field, double min, double max, double absent) {
        JsonNode v = n.get(field);
        if (v == null || v.isNull()) {
            return absent;
        }
        if (!v.isNumber() || !(v.doubleValue() >= min && v.doubleValue() <= max)) {
            throw ApiError.invalid(field, "'" + field + "' must be a number in " + min + ".." + max + ", got " + abbreviate(v));
        }
        return v.doubleValue();
    }

    private static String abbreviate(JsonNode v) {
        String s = v.toString();
        return s.length() > 40 ? s.substring(0, 40) + "…" : s;
    }
}
