package io.trillium.chat;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Tool calls in generated text: Kimi's section and chatml/Qwen {@code <tool_call>} blocks; malformed calls stay text. */
class ToolCallsTest {
    @Test
    void kimiSection() {
        String text = "Let me check.<|tool_calls_section_begin|><|tool_call_begin|>functions.get_weather:0"
                + "<|tool_call_argument_begin|>{\"city\": \"Oslo\"}<|tool_call_end|><|tool_call_begin|>functions.get_time:1"
                + "<|tool_call_argument_begin|>{}<|tool_call_end|><|tool_calls_section_end|>";
        ToolCalls.Parsed p = ToolCalls.parse(text);
        assertEquals("Let me check.", p.content());
        assertEquals(List.of("get_weather", "get_time"), p.calls().stream().map(ToolCall::name).toList());
        assertEquals("{\"city\": \"Oslo\"}", p.calls().get(0).argumentsJson());
    }

    @Test
    void hermesBlocks() {
        String text = "Sure.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Oslo\"}}\n</tool_call>\n"
                + "<tool_call>{\"name\": \"f\", \"arguments\": \"{\\\"x\\\":1}\"}</tool_call>";
        ToolCalls.Parsed p = ToolCalls.parse(text);
        assertEquals("Sure.", p.content());
        assertEquals(2, p.calls().size());
        assertEquals("{\"city\":\"Oslo\"}", p.calls().get(0).argumentsJson());
        assertEquals("{\"x\":1}", p.calls().get(1).argumentsJson());
        assertTrue(p.calls().get(0).id().startsWith("call_"));
        assertTrue(!p.calls().get(0).id().equals(p.calls().get(1).id()));
    }

    @Test
    void malformedCallsStayContent() {
        for (String text : List.of("<tool_call>{\"name\": </tool_call>", "<tool_call>{\"arguments\": {}}</tool_call>",
                "<tool_call>{\"name\": \"f\"}", "<|tool_calls_section_begin|><|tool_call_begin|>broken")) {
            ToolCalls.Parsed p = ToolCalls.parse(text);
            assertEquals(List.of(), p.calls(), text);
            assertEquals(text, p.content());
        }
    }
}
