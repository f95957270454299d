package io.trillium.chat;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Parses tool calls out of Kimi K2 output (MODEL-FACTS 5.4):
 * <pre>
 * content&lt;|tool_calls_section_begin|&gt;
 *   &lt;|tool_call_begin|&gt;functions.{name}:{idx}&lt;|tool_call_argument_begin|&gt;{json}&lt;|tool_call_end|&gt; ...
 * &lt;|tool_calls_section_end|&gt;
 * </pre>
 * Strict: a section that is open but not closed, text between calls, or an id that is not
 * {@code functions.NAME:N} (or a bare {@code NAME:N}, which some checkpoints emit) throws
 * {@link IllegalArgumentException} naming the problem. The arguments are returned as generated,
 * not validated as JSON, so the caller decides how to answer a model that produced bad JSON.
 */
public final class KimiToolCalls {
    public static final String SECTION_BEGIN = "<|tool_calls_section_begin|>";
    public static final String SECTION_END = "<|tool_calls_section_end|>";
    public static final String CALL_BEGIN = "<|tool_call_begin|>";
    public static final String ARGUMENT_BEGIN = "<|tool_call_argument_begin|>";
    public static final String CALL_END = "<|tool_call_end|>";

    private static final Pattern ID = Pattern.compile("(?:functions\\.)?([^\\s:<>]+):(\\d+)");

    private KimiToolCalls() {
    }

    /**
     * @param content the text outside the tool-call section (before and after it, concatenated)
     * @param calls   the calls in order; empty when the text has no section
     */
    public record Parsed(String content, List<ToolCall> calls) {
        public Parsed {
            calls = List.copyOf(calls);
        }

        public boolean hasCalls() {
            return !calls.isEmpty();
        }
    }

    public static Parsed parse(String generatedText) {
        int begin = generatedText.indexOf(SECTION_BEGIN);
        if (begin < 0) {
            if (generatedText.contains(CALL_BEGIN) || generatedText.contains(SECTION_END)) {
                throw new IllegalArgumentException("tool call markers outside a " + SECTION_BEGIN + " section");
            }
            return new Parsed(generatedText, List.of());
        }
        int end = generatedText.indexOf(SECTION_END, begin);
        if (end < 0) {
            throw new IllegalArgumentException("unterminated tool call section: no " + SECTION_END);
        }
        String rest = generatedText.substring(end + SECTION_END.length());
        if (rest.contains(SECTION_BEGIN)) {
            throw new IllegalArgumentException("more than one tool call section");
        }
        List<ToolCall> calls = new ArrayList<>();
        String section = generatedText.substring(begin + SECTION_BEGIN.length(), end);
        int at = 0;
        while (at < section.length()) {
            if (!section.startsWith(CALL_BEGIN, at)) {
                if (section.substring(at).isBlank()) {
                    break;
                }
                throw new IllegalArgumentException("expected " + CALL_BEGIN + " in tool call section at: "
                        + abbreviate(section.substring(at)));
            }
            int arg = section.indexOf(ARGUMENT_BEGIN, at);
            int close = section.indexOf(CALL_END, at);
            int nextCall = section.indexOf(CALL_BEGIN, at + CALL_BEGIN.length());
            if (close < 0 || (nextCall >= 0 && nextCall < close)) {
                throw new IllegalArgumentException("tool call " + (calls.size() + 1) + " has no " + CALL_END);
            }
            if (arg < 0 || arg > close) {
                throw new IllegalArgumentException("tool call " + (calls.size() + 1) + " has no " + ARGUMENT_BEGIN);
            }
            String id = section.substring(at + CALL_BEGIN.length(), arg).strip();
            Matcher m = ID.matcher(id);
            if (!m.matches()) {
                throw new IllegalArgumentException("tool call id '" + id + "' is not functions.NAME:INDEX");
            }
            String args = section.substring(arg + ARGUMENT_BEGIN.length(), close).strip();
            calls.add(new ToolCall(id, m.group(1), Integer.parseInt(m.group(2)), args));
            at = close + CALL_END.length();
            while (at < section.length() && Character.isWhitespace(section.charAt(at))) {
                at++;
            }
        }
        return new Parsed(generatedText.substring(0, begin) + rest, calls);
    }

    private static String abbreviate(String s) {
        return s.length() > 40 ? s.substring(0, 40) + "..." : s;
    }
}
