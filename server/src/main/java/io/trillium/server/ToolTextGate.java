package io.trillium.server;

import io.trillium.chat.KimiToolCalls;

import java.util.List;

/**
 * Streams a reply's text while tool calls may still come: releases text up to anything that may be the
 * start of a call marker (held back like a partial stop string), and holds everything from a marker on
 * until the end, when the whole reply is parsed. A reply that opens with JSON is held too (Llama 3.1 writes
 * a call as the whole reply). Not thread-safe: one per stream.
 */
final class ToolTextGate {
    static final List<String> MARKERS = List.of("<tool_call>", KimiToolCalls.SECTION_BEGIN, "<｜tool▁calls▁begin｜>",
            "<|python_tag|>");
    private final StringBuilder all = new StringBuilder();
    private int sent;
    private boolean held;

    ToolTextGate() {
    }

    /** A gate that releases nothing before the end (a forced call: the whole reply is the call). */
    static ToolTextGate holdingAll() {
        ToolTextGate g = new ToolTextGate();
        g.held = true;
        return g;
    }

    /** Adds a piece of the reply; returns the text that can go to the client now. */
    String accept(String piece) {
        all.append(piece);
        if (held) {
            return "";
        }
        if (sent == 0) {
            String lead = all.toString().stripLeading();
            if (lead.isEmpty()) {
                return "";   // the reply's first visible character decides whether it may be a JSON call
            }
            if (lead.startsWith("{")) {
                held = true;
                return "";
            }
        }
        int first = -1;
        for (String m : MARKERS) {
            int i = all.indexOf(m, sent);
            if (i >= 0 && (first < 0 || i < first)) {
                first = i;
            }
        }
        int upTo;
        if (first >= 0) {
            held = true;
            upTo = first;
        } else {
            int keep = 0;
            String tail = all.substring(sent);
            for (String m : MARKERS) {
                for (int len = Math.min(m.length() - 1, tail.length()); len > keep; len--) {
                    if (tail.regionMatches(tail.length() - len, m, 0, len)) {
                        keep = len;
                        break;
                    }
                }
            }
            upTo = all.length() - keep;
        }
        String out = all.substring(sent, upTo);
        sent = upTo;
        return out;
    }

    /**
     * At the end: the content not sent yet. {@code content} is the reply's content once its calls are
     * taken out (the whole reply when it has none).
     */
    String remainder(String content) {
        String sentText = all.substring(0, sent);
        return content.startsWith(sentText) ? content.substring(sentText.length()) : "";
    }
}
