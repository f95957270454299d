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

    @Test
    void deepseekV3AndV31Calls() {
        String v3 = "Checking.<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>get_weather\n```json\n"
                + "{\"city\": \"Oslo\"}\n```<｜tool▁call▁end｜>\n<｜tool▁call▁begin｜>function<｜tool▁sep｜>get_time\n```json\n{}\n```"
                + "<｜tool▁call▁end｜><｜tool▁calls▁end｜>";
        ToolCalls.Parsed p = ToolCalls.parse(v3);
        assertEquals("Checking.", p.content());
        assertEquals(List.of("get_weather", "get_time"), p.calls().stream().map(ToolCall::name).toList());
        assertEquals("{\"city\": \"Oslo\"}", p.calls().get(0).argumentsJson());
        String v31 = "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>get_weather<｜tool▁sep｜>{\"city\":\"Oslo\"}<｜tool▁call▁end｜><｜tool▁calls▁end｜>";
        ToolCalls.Parsed q = ToolCalls.parse(v31);
        assertEquals("", q.content());
        assertEquals("get_weather", q.calls().get(0).name());
        assertEquals("{\"city\":\"Oslo\"}", q.calls().get(0).argumentsJson());
        String broken = "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>get_weather<｜tool▁sep｜>{\"city\":<｜tool▁call▁end｜>";
        assertEquals(List.of(), ToolCalls.parse(broken).calls());
        assertEquals(broken, ToolCalls.parse(broken).content());
    }

    @Test
    void llamaWholeReplyCall() {
        ToolCalls.Parsed p = ToolCalls.parse("<|python_tag|>{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Oslo\"}}");
        assertEquals("get_weather", p.calls().get(0).name());
        assertEquals("{\"city\":\"Oslo\"}", p.calls().get(0).argumentsJson());
        assertEquals("", p.content());
        // JSON that is not a call stays content
        for (String t : List.of("{\"name\": \"Ann\", \"age\": 3}", "{\"name\": \"f\", \"parameters\": {}, \"x\": 1}", "{\"name\": ")) {
            assertEquals(List.of(), ToolCalls.parse(t).calls(), t);
            assertEquals(t, ToolCalls.parse(t).content());
        }
    }
}
