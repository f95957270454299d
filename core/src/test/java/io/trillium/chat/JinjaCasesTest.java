package io.trillium.chat;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

import java.io.IOException;
import java.io.InputStream;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Small templates exercising one feature each (whitespace control, filters, tests, slicing, str(),
 * tojson kwargs, scoping...). Expected outputs and errors were produced by Python's Jinja2 3.1.6 with the
 * fixture configuration; the generator script is in the commit message of this file's first version.
 */
class JinjaCasesTest {

    @SuppressWarnings("unchecked")
    @TestFactory
    List<DynamicTest> matchesJinja2() throws IOException {
        List<Map<String, Object>> cases;
        try (InputStream in = JinjaCasesTest.class.getResourceAsStream("jinja-cases.json")) {
            cases = new ObjectMapper().readValue(in, List.class);
        }
        return cases.stream().map(c -> DynamicTest.dynamicTest((String) c.get("name"), () -> {
            ChatTemplate t;
            Map<String, Object> vars = (Map<String, Object>) c.get("vars");
            if (c.containsKey("expected")) {
                t = ChatTemplate.compile((String) c.get("template")).withClock(ChatTemplateFixturesTest.CLOCK);
                assertEquals(c.get("expected"), t.render(vars));
            } else {
                ChatTemplateException e = assertThrows(ChatTemplateException.class,
                        () -> ChatTemplate.compile((String) c.get("template")).render(vars));
                if ("TemplateError".equals(c.get("errorType"))) {
                    assertEquals(c.get("error"), e.getMessage());
                    assertTrue(e.raisedByTemplate());
                }
            }
        })).toList();
    }
}
