package io.trillium.chat;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class KimiToolCallsTest {
    static String call(String id, String args) {
        return "<|tool_call_begin|>" + id + "<|tool_call_argument_begin|>" + args + "<|tool_call_end|>";
    }

    @Test
    void noSection() {
        KimiToolCalls.Parsed p = KimiToolCalls.parse("Just text.");
        assertEquals("Just text.", p.content());
        assertFalse(p.hasCalls());
    }

    @Test
    void singleCall() {
        KimiToolCalls.Parsed p = KimiToolCalls.parse("Let me check.<|tool_calls_section_begin|>"
                + call("functions.get_weather:0", "{\"city\": \"Paris\"}") + "<|tool_calls_section_end|>");
        assertEquals("Let me check.", p.content());
        assertEquals(List.of(new ToolCall("functions.get_weather:0", "get_weather", 0, "{\"city\": \"Paris\"}")), p.calls());
    }

    @Test
    void multipleCallsWithWhitespaceBetween() {
        KimiToolCalls.Parsed p = KimiToolCalls.parse("<|tool_calls_section_begin|>"
                + call("functions.search:3", "{\"q\": \"a\"}") + "\n"
                + call(" functions.web.fetch:4 ", "{\"url\": \"https://x/y:z\"}")
                + "<|tool_calls_section_end|> after");
        assertEquals(" after", p.content());
        assertEquals(2, p.calls().size());
        assertEquals(new ToolCall("functions.search:3", "search", 3, "{\"q\": \"a\"}"), p.calls().get(0));
        assertEquals("web.fetch", p.calls().get(1).name());
        assertEquals(4, p.calls().get(1).index());
        assertEquals("{\"url\": \"https://x/y:z\"}", p.calls().get(1).argumentsJson());
    }

    @Test
    void malformedSectionsAreErrors() {
        String open = "<|tool_calls_section_begin|>";
        String close = "<|tool_calls_section_end|>";
        assertMalformed(open + call("functions.f:0", "{}"), "unterminated");
        assertMalformed(open + "<|tool_call_begin|>functions.f:0{}<|tool_call_end|>" + close, "tool_call_argument_begin");
        assertMalformed(open + "<|tool_call_begin|>functions.f:0<|tool_call_argument_begin|>{}" + close, "tool_call_end");
        assertMalformed(open + call("get_weather", "{}") + close, "not functions.NAME:INDEX");
        assertMalformed(open + "junk" + call("functions.f:0", "{}") + close, "expected <|tool_call_begin|>");
        assertMalformed("text" + call("functions.f:0", "{}"), "outside");
    }

    static void assertMalformed(String text, String expectedInMessage) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> KimiToolCalls.parse(text));
        assertTrue(e.getMessage().contains(expectedInMessage), e.getMessage());
    }

    @Test
    void parsedCallsRenderBackThroughTheKimiTemplate() {
        String generated = "<|tool_calls_section_begin|>" + call("functions.get_weather:0", "{\"city\": \"Paris\", \"unit\": \"c\"}")
                + "<|tool_calls_section_end|>";
        KimiToolCalls.Parsed p = KimiToolCalls.parse(generated);
        String prompt = ChatTemplates.builtin("kimi-k2").render(List.of(Message.user("Weather?"),
                Message.assistant(p.content(), p.calls())), null, false, Map.of());
        assertTrue(prompt.contains("<|im_assistant|>assistant<|im_middle|>" + generated + "<|im_end|>"), prompt);
    }
}
