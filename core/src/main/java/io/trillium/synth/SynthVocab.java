package io.trillium.synth;

import io.trillium.gguf.GgufArray;
import io.trillium.gguf.GgufValue;
import io.trillium.gguf.GgufValueType;
import io.trillium.gguf.GgufWriter;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A small but valid byte-level BPE vocabulary (tokenizer.ggml.model = gpt2), so a synthesized model
 * is self-contained: the 256 bytes in GPT-2's bytes_to_unicode form, merges that build a few common
 * English words, BOS/EOS control tokens, then unused {@code [PAD{id}]} tokens up to the vocab size.
 */
final class SynthVocab {
    private SynthVocab() {
    }

    /** 256 bytes + BOS + EOS. */
    static final int MIN_VOCAB = 258;

    static final String BOS = "<|begin_of_text|>";
    static final String EOS = "<|end_of_text|>";

    // Token types (llama.cpp llama_token_type).
    private static final int NORMAL = 1;
    private static final int CONTROL = 3;
    private static final int UNUSED = 5;

    /** Words the merges build, letter by letter ("Ġ" = a leading space in byte-level form). */
    private static final List<String> WORDS = List.of("the", " the", " a", " of", " and", " to", " in", " is",
            "in", "er", "on", "an", "hello", " hello", "world", " world", " model", " random", " weights");

    /** Adds the tokenizer.ggml.* keys for a {@code vocab}-token vocabulary. */
    static void put(GgufWriter w, int vocab) {
        List<String> tokens = new ArrayList<>(vocab);
        List<Integer> types = new ArrayList<>(vocab);
        for (int b = 0; b < 256; b++) {
            tokens.add(String.valueOf(byteChar(b)));
            types.add(NORMAL);
        }
        // Grow each word the way BPE will read it back: run the merges so far, then add one joining
        // the first two pieces, until the word is a single token.
        List<String> merges = new ArrayList<>();
        Map<String, Integer> rank = new HashMap<>();
        Set<String> known = new HashSet<>(tokens);
        int room = vocab - MIN_VOCAB;
        for (String word : WORDS) {
            List<String> parts = bpe(byteLevel(word), rank);
            while (parts.size() > 1 && merges.size() < room) {
                String joined = parts.get(0) + parts.get(1);
                rank.put(parts.get(0) + " " + parts.get(1), merges.size());
                merges.add(parts.get(0) + " " + parts.get(1));
                if (known.add(joined)) {
                    tokens.add(joined);
                    types.add(NORMAL);
                }
                parts = bpe(byteLevel(word), rank);
            }
        }
        int bos = tokens.size();
        tokens.add(BOS);
        types.add(CONTROL);
        tokens.add(EOS);
        types.add(CONTROL);
        while (tokens.size() < vocab) {
            types.add(UNUSED);
            tokens.add("[PAD" + tokens.size() + "]");
        }
        w.put("tokenizer.ggml.model", GgufValue.string("gpt2"));
        w.put("tokenizer.ggml.pre", GgufValue.string("default"));
        w.put("tokenizer.ggml.tokens", GgufValue.strings(tokens));
        w.put("tokenizer.ggml.token_type", GgufValue.array(GgufArray.ofInts(GgufValueType.INT32,
                types.stream().mapToInt(Integer::intValue).toArray())));
        w.put("tokenizer.ggml.merges", GgufValue.strings(merges));
        w.put("tokenizer.ggml.bos_token_id", GgufValue.u32(bos));
        w.put("tokenizer.ggml.eos_token_id", GgufValue.u32(bos + 1));
        w.put("tokenizer.ggml.add_bos_token", GgufValue.bool(true));
        w.put("tokenizer.ggml.add_eos_token", GgufValue.bool(false));
    }

    /** Plain BPE: merge the adjacent pair of lowest rank (leftmost on ties) until none applies. */
    private static List<String> bpe(String s, Map<String, Integer> rank) {
        List<String> parts = new ArrayList<>();
        for (int i = 0; i < s.length(); i++) {
            parts.add(s.substring(i, i + 1));
        }
        while (true) {
            int best = -1;
            int bestRank = Integer.MAX_VALUE;
            for (int i = 0; i + 1 < parts.size(); i++) {
                Integer r = rank.get(parts.get(i) + " " + parts.get(i + 1));
                if (r != null && r < bestRank) {
                    best = i;
                    bestRank = r;
                }
            }
            if (best < 0) {
                return parts;
            }
            parts.set(best, parts.get(best) + parts.remove(best + 1));
        }
    }

    /** GPT-2's bytes_to_unicode: printable Latin-1 bytes stand for themselves, the rest map to U+0100... */
    static char byteChar(int b) {
        int n = 0;
        for (int c = 0; c < b; c++) {
            if (!printable(c)) {
                n++;
            }
        }
        return (char) (printable(b) ? b : 256 + n);
    }

    private static boolean printable(int b) {
        return (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
    }

    private static String byteLevel(String s) {
        StringBuilder sb = new StringBuilder();
        for (byte b : s.getBytes(StandardCharsets.UTF_8)) {
            sb.append(byteChar(b & 0xFF));
        }
        return sb.toString();
    }
}
