package io.trillium.server;

import io.trillium.chat.ToolCall;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The calls of forced answers (tool_choice required or named). */
class ToolCallTextTest {
    @Test
    void forcedAnswers() {
        assertEquals("get_weather", ToolCallText.forced("{\"name\":\"get_weather\",\"arguments\":{\"city\":\"Oslo\"}}").get(0).name());
        List<ToolCall> two = ToolCallText.forced("[{\"name\":\"a\",\"arguments\":{}},{\"name\":\"b\",\"arguments\":{\"x\":1}}]");
        assertEquals(List.of("a", "b"), two.stream().map(ToolCall::name).toList());
        assertEquals("{\"x\":1}", two.get(1).argumentsJson());
        assertEquals(List.of(), ToolCallText.forced("{\"name\":"));
    }
}
