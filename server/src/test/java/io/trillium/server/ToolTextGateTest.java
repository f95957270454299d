package io.trillium.server;

import io.trillium.chat.ToolCalls;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** Streaming with tools: text flows up to a possible marker; what was sent plus the remainder is the parsed content. */
class ToolTextGateTest {
    /** Feeds the reply in pieces of every size; returns the released text and checks it against the parse. */
    private static void check(String reply, String expectedStreamedBeforeEnd) {
        for (int size = 1; size <= 7; size++) {
            ToolTextGate g = new ToolTextGate();
            StringBuilder out = new StringBuilder();
            for (int i = 0; i < reply.length(); i += size) {
                out.append(g.accept(reply.substring(i, Math.min(reply.length(), i + size))));
            }
            assertEquals(expectedStreamedBeforeEnd, out.toString(), reply + " in pieces of " + size);
            ToolCalls.Parsed p = ToolCalls.parse(reply);
            assertEquals(p.content(), out + g.remainder(p.content()), "sent + remainder = content");
        }
    }

    @Test
    void textWithoutCallsStreamsWhole() {
        check("Hello there, no tools <tool here.", "Hello there, no tools <tool here.");
        check("It ends like a marker <tool_ca", "It ends like a marker ");   // the rest comes with the end
    }

    @Test
    void textBeforeACallStreamsAndTheCallWaits() {
        check("Let me look.<tool_call>{\"name\": \"f\", \"arguments\": {}}</tool_call>", "Let me look.");
        check("Sure<|tool_calls_section_begin|><|tool_call_begin|>functions.f:0<|tool_call_argument_begin|>{}"
                + "<|tool_call_end|><|tool_calls_section_end|>", "Sure");
    }

    @Test
    void aReplyOpeningWithJsonWaits() {
        check("  {\"name\": \"f\", \"parameters\": {\"x\": 1}}", "");
        for (String r : List.of("{\"not\": \"a call\"}")) {
            check(r, "");
        }
    }
}
