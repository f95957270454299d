package io.trillium.json;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The pattern NFA against java.util.regex ({@code find}, as JSON Schema's {@code pattern} is a search):
 * random strings over an alphabet that exercises each pattern agree; unsupported syntax is refused.
 */
class JsonRegexTest {
    static final List<String> PATTERNS = List.of("^[A-Z]{3}-\\d{2,4}$", "^[a-z0-9._]+@[a-z]+\\.(com|org)$", "x+y?",
            "^(?:ab|a)*c$", "^a{2,}b{0,2}$", "[^a-c]", "^.$", "^\\w+\\s\\S?$", "^(a|b|)+$", "colou?r", "^\\d*\\.?\\d+$",
            "^[\\-+]?[0-9]{1,3}(,[0-9]{3})*$", "^\\u00e9+$", "^[é-ü]{1,2}$", "\\$\\^", "^(?:[\\w.-]+/)*[\\w.-]+$");

    @Test
    void agreesWithJavaRegexOnRandomStrings() {
        String alphabet = "abcxyABZ019-+.,@/ _\\$^éüç\n\t";
        SplittableRandom random = new SplittableRandom(5);
        int matched = 0;
        for (String p : PATTERNS) {
            JsonRegex rx = JsonRegex.compile(p);
            // ECMA's $ is the end of input; Java's also matches before a final line terminator
            java.util.regex.Pattern reference = java.util.regex.Pattern.compile(p.endsWith("$") && !p.endsWith("\\$")
                    ? p.substring(0, p.length() - 1) + "\\z" : p);
            for (int i = 0; i < 3000; i++) {
                StringBuilder b = new StringBuilder();
                for (int n = random.nextInt(9); n > 0; n--) {
                    b.append(alphabet.charAt(random.nextInt(alphabet.length())));
                }
                if (i % 3 == 0) {   // strings near the pattern's language: a sample of its own shortest kind
                    b.setLength(0);
                    b.append(new String[]{"ABC-12", "a.b@c.org", "xx", "ababc", "aab", "d", "q", "ab c", "abab", "color",
                            "1.5", "-1,234", "éé", "ü", "$^", "a/b.c"}[random.nextInt(16)]);
                    if (random.nextBoolean() && b.length() > 0) {
                        b.setCharAt(random.nextInt(b.length()), alphabet.charAt(random.nextInt(alphabet.length())));
                    }
                }
                String s = b.toString();
                boolean expected = reference.matcher(s).find();
                assertEquals(expected, accepts(rx, s), () -> "/" + p + "/ on <" + s + ">");
                matched += expected ? 1 : 0;
            }
        }
        assertTrue(matched > 2000, "too few matching strings to tell: " + matched);
    }

    @Test
    void costIsTheShortestMatchInJsonBytes() {
        assertEquals(6, JsonRegex.compile("^[A-Z]{3}-\\d{2,4}$").cost(JsonRegex.compile("^[A-Z]{3}-\\d{2,4}$").start));
        JsonRegex quote = JsonRegex.compile("^\"+$");
        assertEquals(2, quote.cost(quote.start));   // written \"
        JsonRegex e = JsonRegex.compile("^é$");
        assertEquals(2, e.cost(e.start));           // two UTF-8 bytes
        JsonRegex nl = JsonRegex.compile("^\\n$");
        assertEquals(2, nl.cost(nl.start));
        JsonRegex any = JsonRegex.compile("abc");
        assertEquals(3, any.cost(any.start));
    }

    @Test
    void unsupportedSyntaxIsRefusedWithItsPlace() {
        for (String p : List.of("(a)\\1", "(?=a)", "(?<n>a)", "a^b", "*a", "[a-", "(ab", "a{3,1}", "\\bword", "a{5000}",
                "(a|b)*a(a|b){15}")) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> JsonRegex.compile(p), p);
            assertTrue(e.getMessage().contains("/" + p + "/"), e.getMessage());
        }
    }

    private static boolean accepts(JsonRegex rx, String s) {
        int st = rx.start;
        for (int i = 0; i < s.length() && st >= 0; ) {
            int cp = s.codePointAt(i);
            st = rx.step(st, cp);
            i += Character.charCount(cp);
        }
        return st >= 0 && rx.accepts(st);
    }
}
