package io.trillium.chat;

import com.fasterxml.jackson.core.JsonProcessingException;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One function call made by the model.
 *
 * @param id            the call id, e.g. Kimi's {@code functions.get_weather:0}
 * @param name          the function name
 * @param index         the running call counter from the id (0 when the format has none)
 * @param argumentsJson the arguments as JSON text, exactly as generated
 */
public record ToolCall(String id, String name, int index, String argumentsJson) {

    /** The OpenAI-style map templates expect; the arguments become a JSON object when they parse. */
    public Map<String, Object> toMap() {
        Object args;
        try {
            args = Message.JSON.readValue(argumentsJson, Object.class);
        } catch (JsonProcessingException e) {
            args = argumentsJson;  // templates render string arguments verbatim
        }
        Map<String, Object> function = new LinkedHashMap<>();
        function.put("name", name);
        function.put("arguments", args);
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", id);
        m.put("type", "function");
        m.put("function", function);
        return m;
    }
}
