package io.trillium.chat;

import com.fasterxml.jackson.databind.ObjectMapper;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A chat message in the shape Hugging Face chat templates read. Templates get {@link #toMap()};
 * callers that need other fields (images, custom keys) can pass plain maps to {@link ChatTemplate} instead.
 *
 * @param role             system, user, assistant or tool
 * @param content          the text; may be null for an assistant turn that only calls tools
 * @param name             optional speaker or tool name
 * @param toolCallId       for role tool: the id of the call this answers
 * @param reasoningContent optional thinking text of an assistant turn
 * @param toolCalls        calls made by an assistant turn (empty if none)
 */
public record Message(String role, String content, String name, String toolCallId, String reasoningContent,
                      List<ToolCall> toolCalls) {

    static final ObjectMapper JSON = new ObjectMapper();

    public Message {
        toolCalls = toolCalls == null ? List.of() : List.copyOf(toolCalls);
    }

    public static Message system(String content) {
        return new Message("system", content, null, null, null, List.of());
    }

    public static Message user(String content) {
        return new Message("user", content, null, null, null, List.of());
    }

    public static Message assistant(String content) {
        return new Message("assistant", content, null, null, null, List.of());
    }

    public static Message assistant(String content, List<ToolCall> toolCalls) {
        return new Message("assistant", content, null, null, null, toolCalls);
    }

    /** A tool's result, answering the call {@code toolCallId} of function {@code name}. */
    public static Message tool(String toolCallId, String name, String content) {
        return new Message("tool", content, name, toolCallId, null, List.of());
    }

    /** Keys as in the OpenAI/HF format; absent fields are left out so {@code is defined} tests see them as absent. */
    public Map<String, Object> toMap() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("role", role);
        m.put("content", content);
        if (name != null) {
            m.put("name", name);
        }
        if (toolCallId != null) {
            m.put("tool_call_id", toolCallId);
        }
        if (reasoningContent != null) {
            m.put("reasoning_content", reasoningContent);
        }
        if (!toolCalls.isEmpty()) {
            m.put("tool_calls", toolCalls.stream().map(ToolCall::toMap).toList());
        }
        return m;
    }
}
