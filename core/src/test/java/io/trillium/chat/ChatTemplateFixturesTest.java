package io.trillium.chat;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.trillium.fixtures.Fixtures;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The six real templates × four conversations rendered by Jinja2 3.1.6 (fixtures README section 5). */
class ChatTemplateFixturesTest {
    static final List<String> TEMPLATES = List.of("Kimi-K2-Instruct", "Kimi-K2-Thinking", "Qwen-Qwen3-0.6B",
            "Qwen3-Coder", "deepseek-ai-DeepSeek-V3.1", "meta-llama-Llama-3.1-8B-Instruct");

    /** strftime_now in the reference renderings always formats 2026-11-21 12:00:00. */
    static final Clock CLOCK = Clock.fixed(LocalDateTime.of(2026, 11, 21, 12, 0).toInstant(ZoneOffset.UTC),
            ZoneOffset.UTC);

    static Path dir() {
        return Fixtures.fixtures().resolve("templates");
    }

    @SuppressWarnings("unchecked")
    static Map<String, Map<String, Object>> conversations() throws IOException {
        return new ObjectMapper().readValue(dir().resolve("expected/conversations.json").toFile(), LinkedHashMap.class);
    }

    static String render(ChatTemplate t, Map<String, Object> conversation) {
        Map<String, Object> vars = new LinkedHashMap<>(conversation);
        vars.put("bos_token", "<s>");
        vars.put("eos_token", "</s>");
        return t.withClock(CLOCK).render(vars);
    }

    @Test
    void all24RenderingsMatchByteForByte() throws IOException {
        Map<String, Map<String, Object>> convs = conversations();
        List<String> failures = new ArrayList<>();
        int pass = 0;
        for (String name : TEMPLATES) {
            ChatTemplate t = ChatTemplate.compile(Files.readString(dir().resolve(name + ".jinja")));
            for (var c : convs.entrySet()) {
                String expected = Files.readString(dir().resolve("expected/" + name + "." + c.getKey() + ".txt"));
                String got;
                try {
                    got = render(t, c.getValue());
                } catch (RuntimeException e) {
                    failures.add(name + "." + c.getKey() + ": " + e);
                    continue;
                }
                if (expected.equals(got)) {
                    pass++;
                } else {
                    int at = 0;
                    while (at < Math.min(expected.length(), got.length()) && expected.charAt(at) == got.charAt(at)) {
                        at++;
                    }
                    failures.add(name + "." + c.getKey() + ": differs at " + at + ": expected "
                            + snippet(expected, at) + " got " + snippet(got, at));
                }
            }
        }
        System.out.println("chat template fixtures: " + pass + "/24 byte-for-byte");
        assertEquals(24, pass, String.join("\n", failures));
    }

    private static String snippet(String s, int at) {
        return "'" + s.substring(at, Math.min(s.length(), at + 40)).replace("\n", "\\n") + "'";
    }
}
