package io.trillium.tokenizer;

import java.util.List;
import java.util.Map;

/** STUB: replaced by the real implementation. Splits text around special-token strings. */
public final class SpecialTokens {
    private SpecialTokens() {
    }

    /** A piece of text: plain ({@code id == -1}) or one special token. */
    public record Segment(String text, int id) {
        public boolean isSpecial() {
            return id >= 0;
        }
    }

    /**
     * Splits {@code text} into plain segments and special tokens, matching the longest special-token
     * string at each position (llama.cpp's tokenizer_st_partition).
     */
    public static List<Segment> split(String text, Map<String, Integer> specials) {
        throw new UnsupportedOperationException("TODO");
    }
}
