package io.trillium.tokenizer;

/**
 * Per-code-point classes the pre-tokenizers need, as bit flags. Letter / number / whitespace follow
 * llama.cpp's unicode tables (general categories; its fixed White_Space set), here taken from
 * {@link Character} (the JDK's Unicode version may be newer for a few rare code points).
 */
final class CodepointFlags {
    private CodepointFlags() {
    }

    static final int LETTER = 1;       // \p{L}
    static final int NUMBER = 2;       // \p{N}
    static final int SPACE = 4;        // \s (Unicode White_Space)
    static final int DEFINED = 8;      // an assigned code point (llama.cpp: flags != 0)
    static final int HAN = 16;         // script Han
    static final int LOWER = 32;       // Ll
    static final int UPPER_TITLE = 64; // Lu or Lt
    static final int MARK = 128;       // \p{M}
    static final int PUNCT = 256;      // \p{P}
    static final int SYMBOL = 512;     // \p{S}

    private static final int[] ASCII = new int[128];

    static {
        for (int c = 0; c < 128; c++) {
            ASCII[c] = compute(c);
        }
    }

    static int of(int cp) {
        return cp < 128 ? ASCII[cp] : compute(cp);
    }

    static boolean isWhitespace(int cp) {
        return (cp >= 9 && cp <= 13) || cp == 32 || cp == 0x85 || cp == 0xA0 || cp == 0x1680
                || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F
                || cp == 0x205F || cp == 0x3000;
    }

    private static int compute(int cp) {
        int f = switch (Character.getType(cp)) {
            case Character.UPPERCASE_LETTER, Character.TITLECASE_LETTER -> LETTER | UPPER_TITLE;
            case Character.LOWERCASE_LETTER -> LETTER | LOWER;
            case Character.MODIFIER_LETTER, Character.OTHER_LETTER -> LETTER;
            case Character.DECIMAL_DIGIT_NUMBER, Character.LETTER_NUMBER, Character.OTHER_NUMBER -> NUMBER;
            case Character.NON_SPACING_MARK, Character.ENCLOSING_MARK, Character.COMBINING_SPACING_MARK -> MARK;
            case Character.CONNECTOR_PUNCTUATION, Character.DASH_PUNCTUATION, Character.START_PUNCTUATION,
                 Character.END_PUNCTUATION, Character.INITIAL_QUOTE_PUNCTUATION,
                 Character.FINAL_QUOTE_PUNCTUATION, Character.OTHER_PUNCTUATION -> PUNCT;
            case Character.MATH_SYMBOL, Character.CURRENCY_SYMBOL, Character.MODIFIER_SYMBOL,
                 Character.OTHER_SYMBOL -> SYMBOL;
            case Character.UNASSIGNED -> 0;
            default -> 0;
        };
        if (Character.getType(cp) != Character.UNASSIGNED) {
            f |= DEFINED;
        }
        if (isWhitespace(cp)) {
            f |= SPACE | DEFINED;
        }
        if (cp >= 0x2E80 && ((cp >= 0x4E00 && cp <= 0x9FFF)
                || Character.UnicodeScript.of(cp) == Character.UnicodeScript.HAN)) {
            f |= HAN;
        }
        return f;
    }

    /**
     * llama.cpp's "collapsed" stand-in for a code point: ASCII stays, other code points become one
     * char per category (whitespace → VT, N → D1, L → D2, P → D3, M → D4, S → D5, else D0), so a
     * byte regex can test \p{..} classes.
     */
    static char collapsed(int cp) {
        if (cp < 128) {
            return (char) cp;
        }
        int f = of(cp);
        if ((f & SPACE) != 0) {
            return 0x0B;
        }
        if ((f & NUMBER) != 0) {
            return 0xD1;
        }
        if ((f & LETTER) != 0) {
            return 0xD2;
        }
        if ((f & PUNCT) != 0) {
            return 0xD3;
        }
        if ((f & MARK) != 0) {
            return 0xD4;
        }
        if ((f & SYMBOL) != 0) {
            return 0xD5;
        }
        return 0xD0;
    }
}
