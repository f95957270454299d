package io.trillium.tokenizer;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** Split behaviour of the pre-tokenizer types that have no llama.cpp vector file here. */
class PreTokenizerTest {

    @Test
    void llama3GroupsDigitsByThreeAndFoldsContractions() {
        assertEquals(List.of("Hello", " world", "'S", " ", "123", "45", "!!\n\n", " x"),
                PreTokenizer.forName("llama-bpe").split("Hello world'S 12345!!\n\n x"));
    }

    @Test
    void qwen2SplitsSingleDigits() {
        assertEquals(List.of("a", "1", "2", "3", " b", "'ll"), PreTokenizer.forName("qwen2").split("a123 b'll"));
    }

    @Test
    void deepseekV3() {
        assertEquals(List.of("Hello", ",", " ", "世界", "!", " ", "123", "45"),
                PreTokenizer.forName("deepseek-v3").split("Hello, 世界! 12345"));
    }

    @Test
    void gpt2AndDefault() {
        assertEquals(List.of("Hello", " world", "'s", "  ", " 2024", "!"), PreTokenizer.forName("gpt-2").split("Hello world's   2024!"));
        assertEquals(List.of("Hello", " world", "!?", " ", "123", "4"), PreTokenizer.forName("default").split("Hello world!? 1234"));
    }

    @Test
    void piecesCoverTheText() {
        String s = "Mixed 中文 text, 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 🦙\u00A0nbsp\u3000ideographic\r\n\tcode(x) { return 42; } ~~ ٣٤٥";
        for (String name : PreTokenizer.names()) {
            assertEquals(s, String.join("", PreTokenizer.forName(name).split(s)), name);
        }
    }

    @Test
    void unknownNameListsTheSupportedOnes() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> PreTokenizer.forName("falcon"));
        assertEquals("unsupported pre-tokenizer 'falcon' (tokenizer.ggml.pre); supported: " + String.join(", ", PreTokenizer.names()),
                e.getMessage());
    }

    /** The hand-written stages must cut exactly where the java.util.regex stages do. */
    @Test
    void fastStagesEqualTheRegexReference() {
        java.util.SplittableRandom rnd = new java.util.SplittableRandom(3);
        String[] pools = {"abcxyz", "ABCXYZ", "0123456789", " \t\n\r  ", "'sStTmM", "中文汉字日本語가나", "ひらカタ",
                "éñüÅØßſǅʰ", "\u0301\u0308", "٣٤٥½²", "!?.,;:-_()[]{}<>@#$%^&*~`|\\/\"", "！，。、“”～　",
                "🦙𝔘𝔫", "\u00a0\u3000\u2003\u0085\u000b", "αβΩΩ\u1f7d\u1fd3KK"};
        for (String name : PreTokenizer.names()) {
            PreTokenizer fast = PreTokenizer.forName(name);
            PreTokenizer ref = PreTokenizer.reference(name);
            for (int i = 0; i < 3000; i++) {
                StringBuilder sb = new StringBuilder();
                int len = rnd.nextInt(30);
                for (int k = 0; k < len; k++) {
                    String pool = pools[rnd.nextInt(pools.length)];
                    int at = pool.offsetByCodePoints(0, rnd.nextInt(pool.codePointCount(0, pool.length())));
                    sb.appendCodePoint(pool.codePointAt(at));
                }
                String s = sb.toString();
                assertEquals(ref.split(s), fast.split(s), () -> name + ": " + s);
            }
        }
    }

    /**
     * Kimi's own pattern run by Python's {@code regex} module (V1, set operations), findall on 400
     * random mixed-script strings (Han, kana, Hangul, marks, long s, digits, emoji, non-ASCII
     * spaces): kimi-split-reference.json. The hand-written scanner must cut identically.
     */
    @Test
    void kimiMatchesItsRegexRunByPython() throws Exception {
        com.fasterxml.jackson.databind.JsonNode cases;
        try (var in = getClass().getResourceAsStream("kimi-split-reference.json")) {
            cases = new com.fasterxml.jackson.databind.ObjectMapper().readTree(in);
        }
        PreTokenizer kimi = PreTokenizer.forName("kimi-k2");
        assertEquals(400, cases.size());
        for (var c : cases) {
            List<String> expected = new java.util.ArrayList<>();
            c.get("pieces").forEach(p -> expected.add(p.asText()));
            assertEquals(expected, kimi.split(c.get("text").asText()), c.get("text").asText());
        }
    }
}
