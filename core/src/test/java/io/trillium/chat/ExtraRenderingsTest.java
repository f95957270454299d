package io.trillium.chat;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * The six fixture templates and the built-ins on harder conversations (reasoning, parallel tool calls,
 * content parts, thinking off, no messages), against Jinja2 3.1.6 (gen-extra-renderings.py). Where
 * Jinja2 fails, so must we; where the template itself raises, with the same message.
 */
class ExtraRenderingsTest {

    @SuppressWarnings("unchecked")
    static <T> T resource(String name, Class<?> type) throws IOException {
        try (InputStream in = ExtraRenderingsTest.class.getResourceAsStream(name)) {
            return (T) new ObjectMapper().readValue(in, type);
        }
    }

    @TestFactory
    List<DynamicTest> matchesJinja2() throws IOException {
        Map<String, Map<String, Object>> convs = resource("extra-conversations.json", LinkedHashMap.class);
        Map<String, Object> expected = resource("extra-renderings.json", LinkedHashMap.class);
        List<DynamicTest> tests = new ArrayList<>();
        for (var e : expected.entrySet()) {
            String key = e.getKey();
            int dot = key.lastIndexOf('.');
            String template = key.substring(0, dot);
            Map<String, Object> conv = convs.get(key.substring(dot + 1));
            tests.add(DynamicTest.dynamicTest(key, () -> {
                ChatTemplate t = ChatTemplates.BUILTIN_NAMES.contains(template) ? ChatTemplates.builtin(template)
                        : ChatTemplate.compile(Files.readString(ChatTemplateFixturesTest.dir().resolve(template + ".jinja")));
                if (e.getValue() instanceof String s) {
                    assertEquals(s, ChatTemplateFixturesTest.render(t, conv));
                } else {
                    Map<?, ?> err = (Map<?, ?>) e.getValue();
                    ChatTemplateException ex = assertThrows(ChatTemplateException.class,
                            () -> ChatTemplateFixturesTest.render(t, conv));
                    if ("TemplateError".equals(err.get("type"))) {
                        assertEquals(err.get("error"), ex.getMessage());
                    }
                }
            }));
        }
        return tests;
    }

}
