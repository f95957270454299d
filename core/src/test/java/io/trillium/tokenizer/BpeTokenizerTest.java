package io.trillium.tokenizer;

import io.trillium.fixtures.Fixtures;
import io.trillium.gguf.GgufArray;
import io.trillium.gguf.GgufMetadata;
import io.trillium.gguf.GgufValue;
import io.trillium.gguf.GgufValueType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

class BpeTokenizerTest {
    static Tokenizer gpt2;
    static Tokenizer deepseekLlm;
    static Tokenizer kimiGguf;
    static Tokenizer kimiTiktoken;

    @BeforeAll
    static void load() throws IOException {
        gpt2 = Tokenizers.load(Fixtures.tokenizer().resolve("ggml-vocab-gpt-2.gguf"));
        deepseekLlm = Tokenizers.load(Fixtures.tokenizer().resolve("ggml-vocab-deepseek-llm.gguf"));
        kimiGguf = Tokenizers.load(Fixtures.tokenizer().resolve("kimi-bpe4k.vocab.gguf"));
        kimiTiktoken = Tokenizers.load(Fixtures.tokenizer().resolve("kimi-bpe4k-tiktoken"));
    }

    @Test
    void kimiGgufAndTiktokenGiveTheSameIds() throws IOException {
        Path dir = Fixtures.tokenizer().resolve("kimi-bpe4k-tiktoken");
        List<String> texts = new ArrayList<>(TokenizerVectors.read(dir.resolve("vectors.inp"), dir.resolve("vectors.out")).texts());
        texts.addAll(List.of("camelCaseWord HTTPServer I'M HE'LL we'Re", "中文混合English和123456数字",
                "def f(x):\n    return x ** 2  # 平方\n\n\n", "Ünïcödé naïve café — “quotes” ½ ⅞ ٣٤٥",
                "tabs\t\tand  spaces   \r\n\r\nend  ", "emoji 🦙🦙 ok"));
        for (String s : texts) {
            assertArrayEquals(kimiGguf.encode(s, false, false), kimiTiktoken.encode(s, false, false), s);
            assertEquals(s, kimiTiktoken.decode(kimiTiktoken.encode(s, false, false)));
        }
        assertEquals(4094, kimiTiktoken.bos().orElseThrow());
        assertEquals(4095, kimiTiktoken.eos().orElseThrow());
        assertEquals(4094 + 256, kimiTiktoken.vocabSize());
        assertEquals("<|reserved_token_4200|>", kimiTiktoken.tokenText(4200));
        assertEquals(kimiGguf.tokenText(300), kimiTiktoken.tokenText(300));
    }

    @Test
    void kimiSplitFollowsItsPattern() {
        PreTokenizer kimi = PreTokenizer.forName("kimi-k2");
        assertEquals(List.of("中文", "English", "和", "123", "456", "数字"), kimi.split("中文English和123456数字"));
        assertEquals(List.of("camel", "Case", "Word", " HTTPServer"), kimi.split("camelCaseWord HTTPServer"));
        assertEquals(List.of("I'M", " HE'LL", " don't"), kimi.split("I'M HE'LL don't"));
        assertEquals(List.of("x", " **", " ", " ", "2", "\n\n", "  ", " y"), kimi.split("x **  2\n\n   y"));
    }

    @Test
    void specialTokensOnlyWhenParsingSpecial() {
        String text = "a<|eos|>b";
        int[] parsed = kimiGguf.encode(text, false, true);
        int[] plain = kimiGguf.encode(text, false, false);
        assertTrue(Arrays.stream(parsed).anyMatch(id -> id == 4095), Arrays.toString(parsed));
        assertFalse(Arrays.stream(plain).anyMatch(id -> id == 4095), Arrays.toString(plain));
        assertArrayEquals(kimiGguf.encode(text, false, true), kimiTiktoken.encode(text, false, true));
        assertEquals(text, kimiGguf.decode(parsed));

        String bos = deepseekLlm.tokenText(100000);
        int[] ids = deepseekLlm.encode(bos + "Hello" + bos, false, true);
        assertEquals(100000, ids[0]);
        assertEquals(100000, ids[ids.length - 1]);
        assertFalse(Arrays.stream(deepseekLlm.encode(bos, false, false)).anyMatch(id -> id == 100000));
    }

    @Test
    void userDefinedTokensAreSplitOutEvenWithoutParseSpecial() throws IOException {
        // deepseek-llm declares 2398 user-defined tokens (HF "added tokens", special = false), among
        // them single characters such as "ø"; llama.cpp and HF match those before BPE, always.
        Tokenizer t = Tokenizers.load(Fixtures.tokenizer().resolve("ggml-vocab-deepseek-llm.gguf"));
        int id = t.tokenId("ø").orElseThrow();
        assertEquals(TokenType.USER_DEFINED, t.tokenType(id));
        assertArrayEquals(new int[] {id}, t.encode("ø", false, false));
        assertArrayEquals(new int[] {id}, t.encode("ø", false, true));
        assertEquals("ø", t.decode(t.encode("ø", false, false)));
    }

    @Test
    void specialTokensSplitLongestAtEachPosition() {
        Map<String, Integer> sp = new LinkedHashMap<>();
        sp.put("<a>", 1);
        sp.put("<a><b>", 2);
        sp.put("<b>", 3);
        List<SpecialTokens.Segment> segs = SpecialTokens.split("x<a><b>y<b><a>", sp);
        assertEquals(List.of(new SpecialTokens.Segment("x", -1), new SpecialTokens.Segment("<a><b>", 2),
                new SpecialTokens.Segment("y", -1), new SpecialTokens.Segment("<b>", 3),
                new SpecialTokens.Segment("<a>", 1)), segs);
        assertEquals(List.of(new SpecialTokens.Segment("plain", -1)), SpecialTokens.split("plain", Map.of()));
        assertEquals(List.of(), SpecialTokens.split("", sp));
    }

    @Test
    void addSpecialAddsBosWhereTheVocabularySaysSo() throws IOException {
        Tokenizer coder = Tokenizers.load(Fixtures.tokenizer().resolve("ggml-vocab-deepseek-coder.gguf"));
        assertEquals(32013, coder.encode("x", true, false)[0]);
        assertEquals(32014, coder.eos().orElseThrow());
        int[] ds = deepseekLlm.encode("Hello world", true, false);
        assertEquals(100000, ds[0]);
        assertArrayEquals(deepseekLlm.encode("Hello world", false, false), Arrays.copyOfRange(ds, 1, ds.length));
        assertArrayEquals(new int[]{100000}, deepseekLlm.encode("", true, false));
        // gpt-2 has no add_bos_token key: nothing is added
        assertArrayEquals(gpt2.encode("Hello world", false, false), gpt2.encode("Hello world", true, false));
        assertEquals(50256, gpt2.bos().orElseThrow());
    }

    @Test
    void streamingDecoderHoldsBackSplitCharacters() {
        for (Tokenizer tok : List.of(gpt2, deepseekLlm, kimiGguf)) {
            for (String s : List.of("🦙 llamas 🦙🦙", "你好，世界！今天天气很好。", "naïve — 🎉")) {
                int[] ids = tok.encode(s, false, false);
                StreamingDecoder dec = new StreamingDecoder(tok);
                StringBuilder sb = new StringBuilder();
                for (int id : ids) {
                    String piece = dec.accept(id);
                    assertFalse(piece.contains("\uFFFD"), () -> "garbage for " + s + " with " + tok);
                    sb.append(piece);
                }
                sb.append(dec.flush());
                assertEquals(s, sb.toString());
            }
        }
        // an emoji cut in half: nothing printed until the end, then U+FFFD
        int[] ids = gpt2.encode("🦙", false, false);
        assertTrue(ids.length > 1, "the llama emoji is several tokens in gpt-2");
        StreamingDecoder dec = new StreamingDecoder(gpt2);
        assertEquals("", dec.accept(ids[0]));
        assertTrue(dec.hasPending());
        assertEquals("\uFFFD", dec.flush());
        assertEquals("", dec.flush());
    }

    @Test
    void incompleteTail() {
        byte[] e = "é🦙".getBytes(StandardCharsets.UTF_8); // 2 + 4 bytes
        assertEquals(0, StreamingDecoder.incompleteTail(e));
        assertEquals(3, StreamingDecoder.incompleteTail(Arrays.copyOf(e, 5)));
        assertEquals(1, StreamingDecoder.incompleteTail(Arrays.copyOf(e, 3)));
        assertEquals(1, StreamingDecoder.incompleteTail(Arrays.copyOf(e, 1)));
        assertEquals(0, StreamingDecoder.incompleteTail(new byte[]{(byte) 0x80}));
    }

    @Test
    void sharedBetweenThreads() throws Exception {
        List<String> texts = new ArrayList<>();
        for (int i = 0; i < 200; i++) {
            texts.add("thread test " + i + " 线程" + i + " word" + (i * 7919) + "\n");
        }
        List<int[]> expected = texts.stream().map(s -> deepseekLlm.encode(s, false, false)).toList();
        try (var pool = java.util.concurrent.Executors.newFixedThreadPool(4)) {
            List<java.util.concurrent.Future<Boolean>> results = new ArrayList<>();
            for (int t = 0; t < 8; t++) {
                results.add(pool.submit(() -> {
                    for (int i = texts.size() - 1; i >= 0; i--) {
                        if (!Arrays.equals(expected.get(i), deepseekLlm.encode(texts.get(i), false, false))) {
                            return false;
                        }
                    }
                    return true;
                }));
            }
            for (var r : results) {
                assertTrue(r.get());
            }
        }
    }

    @Test
    void loneSurrogateIsAnError() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> gpt2.encode("ab\uD83Dc", false, false));
        assertTrue(e.getMessage().contains("lone surrogate U+D83D at index 2"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> gpt2.encode("\uDE00", false, false));
    }

    // ---- malformed vocabularies

    private static GgufMetadata vocab(List<String> tokens, List<String> merges, Map<String, GgufValue> extra) {
        Map<String, GgufValue> m = new LinkedHashMap<>();
        m.put("tokenizer.ggml.model", GgufValue.string("gpt2"));
        m.put("tokenizer.ggml.pre", GgufValue.string("gpt-2"));
        m.put("tokenizer.ggml.tokens", GgufValue.strings(tokens));
        m.put("tokenizer.ggml.merges", GgufValue.strings(merges));
        m.putAll(extra);
        return new GgufMetadata(Path.of("test.gguf"), m);
    }

    private static List<String> bytesAnd(String... more) {
        List<String> t = new ArrayList<>();
        for (int b = 0; b < 256; b++) {
            t.add(String.valueOf(ByteLevel.charOf(b)));
        }
        t.addAll(List.of(more));
        return t;
    }

    @Test
    void tinyVocabularyWorks() {
        Tokenizer t = Tokenizers.fromGguf(vocab(bytesAnd("ab", "abc"), List.of("a b", "ab c"), Map.of()));
        assertArrayEquals(new int[]{257, 'a'}, t.encode("abca", false, false));
        assertEquals("abca", t.decode(t.encode("abca", false, false)));
    }

    @Test
    void badVocabulariesAreErrors() {
        String m1 = assertThrows(IllegalArgumentException.class,
                () -> Tokenizers.fromGguf(vocab(bytesAnd("ab"), List.of("a b", "x zz"), Map.of()))).getMessage();
        assertTrue(m1.contains("merge 1 'x zz' references 'zz'"), m1);
        String m2 = assertThrows(IllegalArgumentException.class,
                () -> Tokenizers.fromGguf(vocab(bytesAnd("ab"), List.of("ab"), Map.of()))).getMessage();
        assertTrue(m2.contains("malformed"), m2);
        String m3 = assertThrows(IllegalArgumentException.class,
                () -> Tokenizers.fromGguf(vocab(bytesAnd(), List.of("a b"), Map.of()))).getMessage();
        assertTrue(m3.contains("'ab', which is not in the vocabulary"), m3);
        String m4 = assertThrows(IllegalArgumentException.class, () -> Tokenizers.fromGguf(vocab(bytesAnd(), List.of(),
                Map.of("tokenizer.ggml.token_type", GgufValue.array(GgufArray.ofInts(GgufValueType.INT32, 1, 1, 1)))))).getMessage();
        assertTrue(m4.contains("token_type has 3 entries but tokenizer.ggml.tokens has 256"), m4);
        String m5 = assertThrows(IllegalArgumentException.class, () -> Tokenizers.fromGguf(vocab(bytesAnd(), List.of(),
                Map.of("tokenizer.ggml.bos_token_id", GgufValue.u32(256))))).getMessage();
        assertTrue(m5.contains("bos_token_id = 256 is outside the vocabulary"), m5);
        String m6 = assertThrows(IllegalArgumentException.class, () -> Tokenizers.fromGguf(vocab(bytesAnd(), List.of(),
                Map.of("tokenizer.ggml.pre", GgufValue.string("nope"))))).getMessage();
        assertTrue(m6.contains("unsupported pre-tokenizer 'nope'") && m6.contains("deepseek-v3") && m6.contains("kimi-k2"), m6);
        String m7 = assertThrows(IllegalArgumentException.class, () -> Tokenizers.fromGguf(new GgufMetadata(null,
                Map.of("tokenizer.ggml.model", GgufValue.string("bert"))))).getMessage();
        assertTrue(m7.contains("'bert' is not supported"), m7);
        String m8 = assertThrows(IllegalArgumentException.class, () -> Tokenizers.fromGguf(vocab(bytesAnd(), List.of(),
                Map.of("tokenizer.ggml.add_bos_token", GgufValue.bool(true))))).getMessage();
        assertTrue(m8.contains("no BOS"), m8);
    }

    @Test
    void badTiktokenFilesAreErrors(@TempDir Path dir) throws IOException {
        StringBuilder ok = new StringBuilder();
        java.util.Base64.Encoder b64 = java.util.Base64.getEncoder();
        for (int b = 0; b < 256; b++) {
            ok.append(b64.encodeToString(new byte[]{(byte) b})).append(' ').append(b).append('\n');
        }
        Files.writeString(dir.resolve("tiktoken.model"), ok + "YWI= 256\n\nbad line here\n");
        String m1 = assertThrows(IllegalArgumentException.class, () -> Tokenizers.load(dir)).getMessage();
        assertTrue(m1.contains("tiktoken.model:259: expected '<base64 token> <rank>'"), m1);
        Files.writeString(dir.resolve("tiktoken.model"), ok + "!!!! 256\n");
        String m2 = assertThrows(IllegalArgumentException.class, () -> Tokenizers.load(dir)).getMessage();
        assertTrue(m2.contains("tiktoken.model:257: bad base64"), m2);
        Files.writeString(dir.resolve("tiktoken.model"), ok + "YWI= 12\n");
        String m3 = assertThrows(IllegalArgumentException.class, () -> Tokenizers.load(dir)).getMessage();
        assertTrue(m3.contains("tiktoken.model:257: rank 12 appears twice"), m3);

        Files.writeString(dir.resolve("tiktoken.model"), ok + "YWI= 256\n");
        Files.writeString(dir.resolve("tokenizer_config.json"),
                "{\"added_tokens_decoder\": {\"100\": {\"content\": \"<|x|>\", \"special\": true}}}");
        String m4 = assertThrows(IllegalArgumentException.class, () -> Tokenizers.load(dir)).getMessage();
        assertTrue(m4.contains("special token 100 '<|x|>' clashes with base rank 100"), m4);
        Files.writeString(dir.resolve("tokenizer_config.json"), "{\"added_tokens_decoder\": {"
                + "\"257\": {\"content\": \"<|x|>\", \"special\": true}, \"258\": {\"content\": \"<|x|>\"}}}");
        String m5 = assertThrows(IllegalArgumentException.class, () -> Tokenizers.load(dir)).getMessage();
        assertTrue(m5.contains("special tokens 257 and 258 are both '<|x|>'"), m5);

        Files.writeString(dir.resolve("tokenizer_config.json"), "{\"added_tokens_decoder\": {"
                + "\"257\": {\"content\": \"<|x|>\", \"special\": true}}, \"bos_token\": \"<|x|>\"}");
        Tokenizer t = Tokenizers.load(dir);
        assertEquals(257, t.bos().orElseThrow());
        assertArrayEquals(new int[]{256, 'c'}, t.encode("abc", false, false));
        assertArrayEquals(new int[]{257, 256}, t.encode("<|x|>ab", false, true));
        assertEquals(TokenType.CONTROL, t.tokenType(257));
    }
}
