package io.trillium.chat;

import java.time.Clock;
import java.time.LocalDateTime;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A compiled Hugging Face chat template (Jinja). Renders like transformers' {@code apply_chat_template}:
 * Jinja2 with {@code trim_blocks}, {@code lstrip_blocks} and loop controls, {@code tojson} as Python's
 * {@code json.dumps(ensure_ascii=False)}, and the globals {@code raise_exception} and {@code strftime_now}.
 *
 * <pre>{@code
 * ChatTemplate t = ChatTemplate.compile(source);
 * String prompt = t.render(List.of(Message.user("Hi")), null, true, Map.of("bos_token", "<s>"));
 * }</pre>
 *
 * Immutable and thread-safe; compile once, render many times.
 */
public final class ChatTemplate {
    private final String source;
    private final List<Jinja.Node> ast;
    private final Clock clock;

    private ChatTemplate(String source, List<Jinja.Node> ast, Clock clock) {
        this.source = source;
        this.ast = ast;
        this.clock = clock;
    }

    /** Parses {@code source}; a syntax error is a {@link ChatTemplateException} naming the line. */
    public static ChatTemplate compile(String source) {
        Objects.requireNonNull(source, "source");
        return new ChatTemplate(source, Jinja.parse(source), Clock.systemDefaultZone());
    }

    /** The same template with {@code strftime_now} reading {@code clock} (for reproducible prompts and tests). */
    public ChatTemplate withClock(Clock clock) {
        return new ChatTemplate(source, ast, Objects.requireNonNull(clock, "clock"));
    }

    public String source() {
        return source;
    }

    /**
     * Renders a conversation.
     *
     * @param messages            {@link Message}s or maps in the OpenAI/HF shape (tool-call arguments as objects)
     * @param tools               tool schemas, or null for none (then {@code tools} is undefined, not empty)
     * @param addGenerationPrompt whether to open an assistant turn at the end
     * @param extra               further variables, e.g. {@code bos_token}, {@code eos_token}, {@code enable_thinking}
     */
    public String render(List<?> messages, List<?> tools, boolean addGenerationPrompt, Map<String, ?> extra) {
        Map<String, Object> vars = new LinkedHashMap<>();
        if (extra != null) {
            vars.putAll(extra);
        }
        vars.put("messages", messages);
        if (tools != null) {
            vars.put("tools", tools);
        }
        vars.put("add_generation_prompt", addGenerationPrompt);
        return render(vars);
    }

    /** Renders with exactly these template variables (the keyword arguments of Jinja's {@code render}). */
    public String render(Map<String, ?> variables) {
        Map<String, Object> vars = new LinkedHashMap<>();
        variables.forEach((k, v) -> vars.put(k, Py.fromJava(v)));
        return new JinjaInterpreter(LocalDateTime.now(clock)).render(ast, vars);
    }
}
