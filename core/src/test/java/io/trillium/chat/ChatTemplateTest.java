package io.trillium.chat;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ChatTemplateTest {

    static ChatTemplate fixture(String name) throws IOException {
        return ChatTemplate.compile(Files.readString(ChatTemplateFixturesTest.dir().resolve(name + ".jinja")));
    }

    @Test
    void raiseExceptionCarriesTheTemplatesMessage() {
        ChatTemplate t = ChatTemplate.compile("{% if messages|length == 0 %}{{ raise_exception('need at least one message') }}{% endif %}");
        ChatTemplateException e = assertThrows(ChatTemplateException.class,
                () -> t.render(List.of(), null, true, Map.of()));
        assertEquals("need at least one message", e.getMessage());
        assertTrue(e.raisedByTemplate());
    }

    @Test
    void llamaRejectsTwoToolCallsInOneTurn() throws IOException {
        Message twoCalls = Message.assistant(null, List.of(
                new ToolCall("a", "get_weather", 0, "{\"city\": \"Paris\"}"),
                new ToolCall("b", "get_weather", 1, "{\"city\": \"Rome\"}")));
        ChatTemplateException e = assertThrows(ChatTemplateException.class, () -> fixture("meta-llama-Llama-3.1-8B-Instruct")
                .render(List.of(Message.user("Weather?"), twoCalls), null, true, Map.of("bos_token", "<s>")));
        assertEquals("This model only supports single tool-calls at once!", e.getMessage());
    }

    @Test
    void llamaRejectsToolsWithoutAUserMessage() throws IOException {
        ChatTemplateException e = assertThrows(ChatTemplateException.class, () -> fixture("meta-llama-Llama-3.1-8B-Instruct")
                .render(List.of(Message.system("s")), List.of(Map.of("type", "function")), true, Map.of("bos_token", "<s>")));
        assertEquals("Cannot put tools in the first user message when there's no first user message!", e.getMessage());
    }

    @Test
    void messageRecordsRenderLikeTheEquivalentMaps() throws IOException {
        // conversation c3-tools, built with the Java API instead of JSON
        List<Message> messages = List.of(
                Message.user("Weather in Paris?"),
                Message.assistant("", List.of(new ToolCall("call_0", "get_weather", 0,
                        "{\"city\": \"Paris\", \"unit\": \"c\"}"))),
                Message.tool("call_0", "get_weather", "{\"temp\": 18}"));
        Object tools = ChatTemplateFixturesTest.conversations().get("c3-tools").get("tools");
        String expected = Files.readString(ChatTemplateFixturesTest.dir().resolve("expected/Kimi-K2-Instruct.c3-tools.txt"));
        assertEquals(expected, fixture("Kimi-K2-Instruct").render(messages, (List<?>) tools, true, Map.of()));
    }

    @Test
    void errorsNameTheLine() {
        ChatTemplateException syntax = assertThrows(ChatTemplateException.class,
                () -> ChatTemplate.compile("ok\n{% for x in %}"));
        assertTrue(syntax.getMessage().startsWith("template line 2:"), syntax.getMessage());
        assertFalse(syntax.raisedByTemplate());

        ChatTemplateException unclosed = assertThrows(ChatTemplateException.class,
                () -> ChatTemplate.compile("{% if x %}never closed"));
        assertTrue(unclosed.getMessage().contains("endif"), unclosed.getMessage());

        ChatTemplateException runtime = assertThrows(ChatTemplateException.class,
                () -> ChatTemplate.compile("a\nb\n{{ messages[0].content.nope() }}").render(Map.of("messages", List.of(Map.of("content", "x")))));
        assertTrue(runtime.getMessage().startsWith("template line 3:"), runtime.getMessage());
    }

    @Test
    void runawayRecursionFailsCleanly() {
        ChatTemplateException e = assertThrows(ChatTemplateException.class, () -> ChatTemplate.compile(
                "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}").render(Map.of()));
        assertTrue(e.getMessage().contains("nested deeper"), e.getMessage());
    }

    @Test
    void strftimeNowReadsTheClock() {
        Clock c = Clock.fixed(Instant.parse("2024-07-26T09:05:00Z"), ZoneOffset.UTC);
        ChatTemplate t = ChatTemplate.compile("{{ strftime_now('%d %b %Y %H:%M') }}").withClock(c);
        assertEquals("26 Jul 2024 09:05", t.render(Map.of()));
    }

    @Test
    void inputIsNotMutated() {
        // templates append to and pop from lists; the caller's data must stay as it was
        List<Object> ids = new java.util.ArrayList<>(List.of("x"));
        ChatTemplate.compile("{% set _ = ids.append(1) %}{{ ids.pop(0) }}").render(Map.of("ids", ids));
        assertEquals(List.of("x"), ids);
    }
}
