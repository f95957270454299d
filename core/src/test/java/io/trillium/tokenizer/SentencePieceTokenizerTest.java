package io.trillium.tokenizer;

import io.trillium.fixtures.Fixtures;
import io.trillium.gguf.GgufArray;
import io.trillium.gguf.GgufFile;
import io.trillium.gguf.GgufFormatException;
import io.trillium.gguf.GgufMetadata;
import io.trillium.gguf.GgufValue;
import io.trillium.gguf.GgufValueType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

class SentencePieceTokenizerTest {
    static final String VOCAB = "ggml-vocab-llama-spm.gguf";

    static Tokenizer spm;

    @BeforeAll
    static void load() throws IOException {
        try (GgufFile g = GgufFile.open(Fixtures.tokenizer().resolve(VOCAB))) {
            spm = SentencePieceTokenizer.fromGguf(g.metadata());
        }
    }

    @Test
    void llamaCppVectorsMatchExactly() throws IOException {
        Path dir = Fixtures.tokenizer();
        List<String> inputs = TokenizerVectors.readInputs(dir.resolve(VOCAB + ".inp"));
        List<int[]> expected = TokenizerVectors.readExpected(dir.resolve(VOCAB + ".out"));
        assertEquals(46, inputs.size(), "strings in the .inp file");
        assertEquals(inputs.size(), expected.size(), ".out lines");
        List<String> failures = new ArrayList<>();
        for (int i = 0; i < inputs.size(); i++) {
            int[] got = spm.encode(inputs.get(i), false, false);
            if (!Arrays.equals(expected.get(i), got)) {
                failures.add("test " + (i + 1) + " '" + inputs.get(i) + "': expected"
                        + TokenizerVectors.format(expected.get(i)) + ", got" + TokenizerVectors.format(got));
            }
        }
        int pass = inputs.size() - failures.size();
        System.out.println(VOCAB + ": " + pass + "/" + inputs.size() + " vectors pass");
        assertEquals(inputs.size(), pass, String.join("\n", failures));
    }

    @Test
    void decodeRoundTripsEveryVector() throws IOException {
        for (String s : TokenizerVectors.readInputs(Fixtures.tokenizer().resolve(VOCAB + ".inp"))) {
            assertEquals(s, spm.decode(spm.encode(s, false, false)), "round trip of '" + s + "'");
        }
    }

    @Test
    void addSpecialPutsBosFirstAndNoEos() {
        SentencePieceTokenizer t = (SentencePieceTokenizer) spm;
        assertEquals(32000, t.vocabSize());
        assertEquals(1, t.bos().orElseThrow());
        assertEquals(2, t.eos().orElseThrow());
        assertEquals(0, t.unk().orElseThrow());
        assertTrue(t.addsBos());
        assertFalse(t.addsEos());

        int[] plain = t.encode("Hello world", false, false);
        assertArrayEquals(new int[]{15043, 3186}, plain); // test 10 of the vectors
        int[] withBos = t.encode("Hello world", true, false);
        assertEquals(1, withBos[0]);
        assertArrayEquals(plain, Arrays.copyOfRange(withBos, 1, withBos.length));
        assertArrayEquals(new int[]{1}, t.encode("", true, false), "OG SentencePiece: '' → [BOS]");
        assertArrayEquals(new int[0], t.encode("", false, false));
        // llama.cpp strips the prefix space only from the first token: after a BOS it stays.
        assertEquals("<s> Hello world", t.decode(withBos));
    }

    @Test
    void byteFallbackForCharactersMissingFromTheVocabulary() {
        for (String s : List.of("🦙", "𠜎 rare", "a\u0001b", "emoji 🦙🦙 and 𪚥")) {
            int[] ids = spm.encode(s, false, false);
            long bytes = Arrays.stream(ids).filter(id -> spm.tokenType(id) == TokenType.BYTE).count();
            assertTrue(bytes > 0, s + " should fall back to byte tokens: " + Arrays.toString(ids));
            assertEquals(s, spm.decode(ids), "byte fallback round trip of " + s);
        }
        // U+1F999 🦙 is F0 9F A6 99: byte tokens are <0xNN> = 3 + NN in this vocabulary.
        assertArrayEquals(new int[]{29871, 3 + 0xF0, 3 + 0x9F, 3 + 0xA6, 3 + 0x99}, spm.encode("🦙", false, false));
        assertArrayEquals(new byte[]{(byte) 0xF0}, spm.tokenBytes(3 + 0xF0));
    }

    @Test
    void tokenBytesAndText() {
        int hello = spm.tokenId("▁Hello").orElseThrow();
        assertEquals(15043, hello);
        assertArrayEquals(" Hello".getBytes(), spm.tokenBytes(hello));
        assertEquals("▁Hello", spm.tokenText(hello));
        assertEquals(TokenType.CONTROL, spm.tokenType(1));
        assertArrayEquals("<s>".getBytes(), spm.tokenBytes(1), "control tokens: their text");
        assertArrayEquals(new byte[]{'\n'}, spm.tokenBytes(13));
        assertTrue(spm.tokenId("no such piece").isEmpty());
        assertThrows(IllegalArgumentException.class, () -> spm.tokenBytes(32000));
        assertThrows(IllegalArgumentException.class, () -> spm.tokenBytes(-1));
    }

    @Test
    void specialTokenTextIsPlainTextUnlessParseSpecial() {
        int[] plain = spm.encode("<s>Hi</s>", false, false);
        assertFalse(Arrays.stream(plain).anyMatch(id -> id == 1 || id == 2), Arrays.toString(plain));
        assertEquals("<s>Hi</s>", spm.decode(plain));

        assumeTrue(splitAvailable(), "SpecialTokens.split is not merged yet");
        int[] parsed = spm.encode("<s>Hi</s>", false, true);
        // After a special token the text gets the space prefix again, as in llama.cpp.
        int[] hi = spm.encode("Hi", false, false);
        int[] expected = new int[hi.length + 2];
        expected[0] = 1;
        System.arraycopy(hi, 0, expected, 1, hi.length);
        expected[hi.length + 1] = 2;
        assertArrayEquals(expected, parsed);
    }

    static boolean splitAvailable() {
        try {
            SpecialTokens.split("x", Map.of("y", 0));
            return true;
        } catch (UnsupportedOperationException e) {
            return false;
        }
    }

    // ---- small synthetic vocabularies

    /** Metadata of a tiny vocabulary: pieces with their scores, all NORMAL except the first three. */
    static Map<String, GgufValue> vocab(List<String> tokens, float[] scores) {
        int[] types = new int[tokens.size()];
        Arrays.fill(types, TokenType.NORMAL.id());
        types[0] = TokenType.UNKNOWN.id();
        types[1] = TokenType.CONTROL.id();
        types[2] = TokenType.CONTROL.id();
        Map<String, GgufValue> m = new LinkedHashMap<>();
        m.put(SentencePieceTokenizer.MODEL, GgufValue.string("llama"));
        m.put(SentencePieceTokenizer.TOKENS, GgufValue.strings(tokens));
        m.put(SentencePieceTokenizer.SCORES, GgufValue.array(GgufArray.ofFloats(scores)));
        m.put(SentencePieceTokenizer.TOKEN_TYPE, GgufValue.array(GgufArray.ofInts(GgufValueType.INT32, types)));
        return m;
    }

    static Tokenizer build(Map<String, GgufValue> m) {
        return SentencePieceTokenizer.fromGguf(new GgufMetadata(null, m));
    }

    @Test
    void mergesByScoreAndFallsBackToUnk() {
        // "abc": "ab" (-1) beats "bc" (-2), then "abc" is not a piece, so the result is "▁", "ab", "c".
        List<String> tokens = List.of("<unk>", "<s>", "</s>", "▁", "a", "b", "c", "ab", "bc", "▁ab");
        float[] scores = {0, 0, 0, -5, -5, -5, -5, -1, -2, -3};
        Tokenizer t = build(vocab(tokens, scores));
        assertArrayEquals(new int[]{9, 6}, t.encode("abc", false, false), "▁ab then c");
        // No byte tokens in this vocabulary: a missing character becomes <unk>.
        assertArrayEquals(new int[]{3, 0}, t.encode("x", false, false));
        assertArrayEquals(new int[]{3, 0, 0, 0}, t.encode("€", false, false), "one <unk> per UTF-8 byte");

        Map<String, GgufValue> m = vocab(tokens, scores);
        m.put(SentencePieceTokenizer.ADD_SPACE_PREFIX, GgufValue.bool(false));
        m.put(SentencePieceTokenizer.ADD_EOS, GgufValue.bool(true));
        Tokenizer noPrefix = build(m);
        assertArrayEquals(new int[]{1, 7, 6, 2}, noPrefix.encode("abc", true, false));
        assertEquals(" ab", noPrefix.decode(3, 7), "no prefix: nothing stripped");
        assertEquals("ab", t.decode(3, 7));
    }

    @Test
    void userDefinedTokensAreSplitOutEvenWithoutParseSpecial() {
        assumeTrue(splitAvailable(), "SpecialTokens.split is not merged yet");
        List<String> tokens = List.of("<unk>", "<s>", "</s>", "▁", "a", "b", "<tool>", "▁a", "▁b");
        Map<String, GgufValue> m = vocab(tokens, new float[]{0, 0, 0, -5, -5, -5, 0, -1, -1});
        int[] types = {2, 3, 3, 1, 1, 1, TokenType.USER_DEFINED.id(), 1, 1};
        m.put(SentencePieceTokenizer.TOKEN_TYPE, GgufValue.array(GgufArray.ofInts(GgufValueType.INT32, types)));
        Tokenizer t = build(m);
        // As llama.cpp (and Hugging Face): user-defined pieces always; control ones only with parseSpecial.
        // The text after a special token gets the space prefix again.
        assertArrayEquals(new int[]{7, 6, 8}, t.encode("a<tool>b", false, false));
        assertArrayEquals(new int[]{1, 7}, t.encode("<s>a", false, true));
        assertEquals("a<tool> b", t.decode(7, 6, 8));
    }

    @Test
    void badVocabulariesNameTheKey() {
        List<String> tokens = List.of("<unk>", "<s>", "</s>", "a");
        float[] scores = {0, 0, 0, -1};

        Map<String, GgufValue> m = vocab(tokens, new float[]{0, 0, 0});
        assertMessage(m, "tokenizer.ggml.scores has 3 entries but tokenizer.ggml.tokens has 4");

        m = vocab(tokens, scores);
        m.remove(SentencePieceTokenizer.TOKENS);
        assertMessage(m, "tokenizer.ggml.tokens");

        m = vocab(tokens, scores);
        m.remove(SentencePieceTokenizer.SCORES);
        assertMessage(m, "tokenizer.ggml.scores");

        m = vocab(tokens, scores);
        m.remove(SentencePieceTokenizer.MODEL);
        assertMessage(m, "tokenizer.ggml.model");

        m = vocab(tokens, scores);
        m.put(SentencePieceTokenizer.MODEL, GgufValue.string("gpt2"));
        assertMessage(m, "'gpt2'");

        m = vocab(tokens, scores);
        m.put(SentencePieceTokenizer.TOKEN_TYPE, GgufValue.array(GgufArray.ofInts(GgufValueType.INT32, 1, 1)));
        assertMessage(m, "tokenizer.ggml.token_type has 2 entries");

        m = vocab(tokens, scores);
        m.put(SentencePieceTokenizer.TOKEN_TYPE, GgufValue.array(GgufArray.ofInts(GgufValueType.INT32, 1, 1, 1, 9)));
        assertMessage(m, "tokenizer.ggml.token_type[3]");

        m = vocab(tokens, scores);
        m.put(SentencePieceTokenizer.BOS_ID, GgufValue.u32(4));
        assertMessage(m, "tokenizer.ggml.bos_token_id = 4");

        m = vocab(tokens, scores);
        m.put(SentencePieceTokenizer.TOKENS, GgufValue.strings(List.of("<unk>", "<s>", "</s>", "<s>")));
        assertMessage(m, "'<s>' has ids 1 and 3");

        m = vocab(List.of("<unk>", "<s>", "</s>", "<0xZZ>"), scores);
        m.put(SentencePieceTokenizer.TOKEN_TYPE, GgufValue.array(GgufArray.ofInts(GgufValueType.INT32, 2, 3, 3, 6)));
        assertMessage(m, "<0xNN>");
    }

    static void assertMessage(Map<String, GgufValue> m, String expected) {
        GgufFormatException e = assertThrows(GgufFormatException.class, () -> build(m));
        assertTrue(e.getMessage().contains(expected), "message '" + e.getMessage() + "' should contain '" + expected + "'");
    }
}
