package io.trillium.tokenizer;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Splits text around special-token strings: at each position the longest special-token string
 * that starts there wins (llama.cpp's tokenizer_st_partition matches the same strings; it visits
 * specials longest first over the whole text, which differs only when two specials overlap).
 * An instance is an index over one set of specials; immutable and thread-safe.
 */
public final class SpecialTokens {
    private final Map<Character, String[]> byFirstChar; // candidates, longest first
    private final Map<String, Integer> ids;

    private SpecialTokens(Map<String, Integer> specials) {
        this.ids = Map.copyOf(specials);
        Map<Character, List<String>> groups = new HashMap<>();
        for (String s : specials.keySet()) {
            if (!s.isEmpty()) {
                groups.computeIfAbsent(s.charAt(0), k -> new ArrayList<>()).add(s);
            }
        }
        Map<Character, String[]> m = new HashMap<>();
        groups.forEach((c, list) -> {
            String[] a = list.toArray(new String[0]);
            Arrays.sort(a, (x, y) -> Integer.compare(y.length(), x.length()));
            m.put(c, a);
        });
        this.byFirstChar = m;
    }

    /** A piece of text: plain ({@code id == -1}) or one special token. */
    public record Segment(String text, int id) {
        public boolean isSpecial() {
            return id >= 0;
        }
    }

    /** An index over {@code specials} (token text → id) for repeated splitting. */
    public static SpecialTokens of(Map<String, Integer> specials) {
        return new SpecialTokens(specials);
    }

    /** Whether there are no specials (split then returns the text as one plain segment). */
    public boolean isEmpty() {
        return byFirstChar.isEmpty();
    }

    /**
     * Splits {@code text} into plain segments and special tokens, matching the longest special-token
     * string at each position (llama.cpp's tokenizer_st_partition).
     */
    public static List<Segment> split(String text, Map<String, Integer> specials) {
        return of(specials).split(text);
    }

    /** Splits {@code text}; empty plain segments are left out. */
    public List<Segment> split(String text) {
        List<Segment> out = new ArrayList<>();
        int plainStart = 0;
        int i = 0;
        while (i < text.length()) {
            String[] candidates = byFirstChar.get(text.charAt(i));
            String hit = null;
            if (candidates != null) {
                for (String s : candidates) {
                    if (text.startsWith(s, i)) {
                        hit = s;
                        break;
                    }
                }
            }
            if (hit == null) {
                i++;
                continue;
            }
            if (i > plainStart) {
                out.add(new Segment(text.substring(plainStart, i), -1));
            }
            out.add(new Segment(hit, ids.get(hit)));
            i += hit.length();
            plainStart = i;
        }
        if (plainStart < text.length()) {
            out.add(new Segment(text.substring(plainStart), -1));
        }
        return out;
    }
}
