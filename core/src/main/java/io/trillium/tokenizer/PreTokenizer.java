package io.trillium.tokenizer;

import java.util.ArrayList;
import java.util.List;
import java.util.function.IntPredicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static io.trillium.tokenizer.CodepointFlags.*;

/**
 * Splits text into the pieces byte-level BPE runs on, for one {@code tokenizer.ggml.pre} type. Like
 * llama.cpp's unicode_regex_split, a type is a list of stages; each stage cuts every piece of the
 * previous stage into its matches and the gaps between them (so the pieces always cover the text).
 * A regex stage runs java.util.regex either on the text with non-ASCII whitespace replaced by VT
 * (llama.cpp's std::wregex path) or, when it uses \p{..} classes, on llama.cpp's "collapsed" text
 * (one char per code point standing for its category) with the classes rewritten the same way, so
 * quirks such as '~' being neither \p{P} nor \p{S} are reproduced. GPT-2, Llama-3 and Kimi K2 are
 * hand-written scanners, and the simple DeepSeek stages ({@code \s?[set]+}, {@code [set]{1,n}},
 * {@code \s+$}) are hand-written too (10x faster; a test checks them against the regex forms).
 * Immutable and thread-safe.
 */
public final class PreTokenizer {

    private static final String CONTRACTIONS = "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])";

    /** The {@code tokenizer.ggml.pre} names this class supports. */
    public static List<String> names() {
        return List.of("default", "gpt-2", "llama-bpe", "llama3", "llama-v3", "deepseek-llm", "deepseek-coder",
                "deepseek-v3", "qwen2", "kimi-k2");
    }

    private final String name;
    private final List<Stage> stages;

    private PreTokenizer(String name, List<Stage> stages) {
        this.name = name;
        this.stages = stages;
    }

    public String name() {
        return name;
    }

    /** The pre-tokenizer llama.cpp uses for {@code tokenizer.ggml.pre = name}. */
    public static PreTokenizer forName(String name) {
        return build(name, true);
    }

    /** The same splits with every regex stage run by java.util.regex (slower; tests compare the two). */
    static PreTokenizer reference(String name) {
        return build(name, false);
    }

    private static PreTokenizer build(String name, boolean fast) {
        List<Stage> stages = switch (name) {
            case "default" -> List.of(
                    collapsed("[\\p{P}\\$\\+<=>\\^~\\|]+"),
                    new Custom(PreTokenizer::gpt2),
                    fast ? new SetRun(false, PreTokenizer::isNumber, Integer.MAX_VALUE) : collapsed("\\p{N}+"),
                    wide("[0-9][0-9][0-9]"));
            case "gpt-2" -> List.of(new Custom(PreTokenizer::gpt2));
            case "llama-bpe", "llama3", "llama-v3" -> List.of(new Custom(PreTokenizer::llama3));
            case "qwen2" -> List.of(collapsed(CONTRACTIONS
                    + "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"));
            case "deepseek-llm" -> List.of(
                    fast ? new SetRun(false, PreTokenizer::isCrLf, 1) : wide("[\\r\\n]"),
                    fast ? new SetRun(true, set(DEEPSEEK_LLM_LETTERS), Integer.MAX_VALUE) : wide("\\s?[" + DEEPSEEK_LLM_LETTERS + "]+"),
                    fast ? new SetRun(true, set(DEEPSEEK_PUNCT), Integer.MAX_VALUE) : wide("\\s?[" + DEEPSEEK_PUNCT + "]+"),
                    fast ? new TrailingSpace() : wide("\\s+\\z"),
                    fast ? new SetRun(false, set(DEEPSEEK_CJK), Integer.MAX_VALUE) : wide("[" + DEEPSEEK_CJK + "]+"),
                    fast ? new SetRun(false, PreTokenizer::isNumber, Integer.MAX_VALUE) : collapsed("\\p{N}+"));
            case "deepseek-coder" -> List.of(
                    fast ? new SetRun(false, PreTokenizer::isCrLf, 1) : wide("[\\r\\n]"),
                    fast ? new SetRun(true, PreTokenizer::isLetter, Integer.MAX_VALUE) : collapsed("\\s?\\p{L}+"),
                    fast ? new SetRun(true, PreTokenizer::isPunct, Integer.MAX_VALUE) : collapsed("\\s?\\p{P}+"),
                    fast ? new SetRun(false, set(DEEPSEEK_CJK), Integer.MAX_VALUE) : wide("[" + DEEPSEEK_CJK + "]+"),
                    fast ? new SetRun(false, PreTokenizer::isNumber, 1) : collapsed("\\p{N}"));
            case "deepseek-v3" -> List.of(
                    fast ? new SetRun(false, PreTokenizer::isNumber, 3) : collapsed("\\p{N}{1,3}"),
                    fast ? new SetRun(false, set(DEEPSEEK_V3_CJK), Integer.MAX_VALUE) : wide("[" + DEEPSEEK_V3_CJK + "]+"),
                    collapsed("[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\\r\\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+"
                            + "| ?[\\p{P}\\p{S}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"));
            case "kimi-k2" -> List.of(new Custom(PreTokenizer::kimi));
            default -> throw new IllegalArgumentException("unsupported pre-tokenizer '" + name
                    + "' (tokenizer.ggml.pre); supported: " + String.join(", ", names()));
        };
        return new PreTokenizer(name, stages);
    }

    /** The pieces of {@code text}, for tests and tools. */
    public List<String> split(String text) {
        Ints ends = new Ints(16);
        split(text, 0, text.length(), ends);
        List<String> out = new ArrayList<>(ends.size);
        int start = 0;
        for (int i = 0; i < ends.size; i++) {
            out.add(text.substring(start, ends.get(i)));
            start = ends.get(i);
        }
        return out;
    }

    /** Appends the end (a UTF-16 index into text) of each piece of {@code text[start, end)}. */
    void split(String text, int start, int end, Ints ends) {
        if (start == end) {
            return;
        }
        Segment seg = new Segment(text, start, end);
        Ints cur = new Ints(1);
        cur.add(seg.n);
        for (Stage stage : stages) {
            Ints next = new Ints(cur.size * 2 + 8);
            stage.apply(seg, cur, next);
            cur = next;
        }
        for (int i = 0; i < cur.size; i++) {
            ends.add(seg.offset(cur.get(i)));
        }
    }

    // ---- the text being split, indexed by code point

    static final class Segment {
        final String text;
        final int start;
        final int n;          // code points
        final int[] cps;
        final int[] utf16;    // code point index → UTF-16 index into text (null: start + i)
        private int[] flags;
        private String collapsed;
        private CharSequence wide;
        private int[] cpOfUtf16; // UTF-16 offset (relative) → code point index (null: identity)

        Segment(String text, int start, int end) {
            this.text = text;
            this.start = start;
            int count = text.codePointCount(start, end);
            this.n = count;
            this.cps = new int[count];
            if (count == end - start) {
                utf16 = null;
                for (int i = 0; i < count; i++) {
                    cps[i] = text.charAt(start + i);
                }
            } else {
                utf16 = new int[count + 1];
                int j = start;
                for (int i = 0; i < count; i++) {
                    utf16[i] = j;
                    int cp = text.codePointAt(j);
                    cps[i] = cp;
                    j += Character.charCount(cp);
                }
                utf16[count] = end;
            }
        }

        int offset(int cpIndex) {
            return utf16 == null ? start + cpIndex : utf16[cpIndex];
        }

        int cp(int i) {
            return cps[i];
        }

        int flags(int i) {
            if (flags == null) {
                int[] f = new int[n];
                for (int k = 0; k < n; k++) {
                    f[k] = CodepointFlags.of(cps[k]);
                }
                flags = f;
            }
            return flags[i];
        }

        String collapsed() {
            if (collapsed == null) {
                char[] c = new char[n];
                for (int k = 0; k < n; k++) {
                    c[k] = CodepointFlags.collapsed(cps[k]);
                }
                collapsed = new String(c);
            }
            return collapsed;
        }

        /** The text with non-ASCII whitespace replaced by VT (same UTF-16 length), for wide regexes. */
        CharSequence wide() {
            if (wide == null) {
                StringBuilder sb = null;
                int end = offset(n);
                for (int j = start; j < end; j++) {
                    char ch = text.charAt(j);
                    if (ch > 127 && CodepointFlags.isWhitespace(ch)) {
                        if (sb == null) {
                            sb = new StringBuilder(text);
                        }
                        sb.setCharAt(j, (char) 0x0B);
                    }
                }
                wide = sb == null ? text : sb.toString();
            }
            return wide;
        }

        int cpOfUtf16(int j) {
            if (utf16 == null) {
                return j - start;
            }
            if (cpOfUtf16 == null) {
                int[] m = new int[offset(n) - start + 1];
                for (int i = 0; i <= n; i++) {
                    m[offset(i) - start] = i;
                }
                cpOfUtf16 = m;
            }
            return cpOfUtf16[j - start];
        }
    }

    // ---- stages

    private interface Stage {
        /** Cuts each piece (given by its end, in code points) and appends the new ends. */
        void apply(Segment seg, Ints in, Ints out);
    }

    @FunctionalInterface
    private interface Scanner {
        /** The end of the piece that starts at p (p < end). */
        int next(Segment s, int p, int end);
    }

    private record Custom(Scanner scanner) implements Stage {
        public void apply(Segment seg, Ints in, Ints out) {
            int a = 0;
            for (int i = 0; i < in.size; i++) {
                int b = in.get(i);
                for (int p = a; p < b; ) {
                    p = scanner.next(seg, p, b);
                    out.add(p);
                }
                a = b;
            }
        }
    }

    private record Regex(Pattern pattern, boolean collapsed) implements Stage {
        public void apply(Segment seg, Ints in, Ints out) {
            Matcher m = pattern.matcher(collapsed ? seg.collapsed() : seg.wide());
            int a = 0;
            for (int i = 0; i < in.size; i++) {
                int b = in.get(i);
                int from = collapsed ? a : seg.offset(a);
                int to = collapsed ? b : seg.offset(b);
                m.region(from, to);
                int prev = a;
                while (m.find()) {
                    if (m.end() == m.start()) {
                        continue;
                    }
                    int s = collapsed ? m.start() : seg.cpOfUtf16(m.start());
                    int e = collapsed ? m.end() : seg.cpOfUtf16(m.end());
                    if (s > prev) {
                        out.add(s);
                    }
                    out.add(e);
                    prev = e;
                }
                if (prev < b) {
                    out.add(b);
                }
                a = b;
            }
        }
    }

    private static Stage wide(String regex) {
        return new Regex(Pattern.compile(regex), false);
    }

    /** A stage on the collapsed text; \p{N} / \p{L} / \p{P} / \p{M} / \p{S} rewritten as llama.cpp does. */
    private static Stage collapsed(String regex) {
        StringBuilder out = new StringBuilder();
        boolean inside = false;
        for (int i = 0; i < regex.length(); i++) {
            char c = regex.charAt(i);
            if (c == '[' && (i == 0 || regex.charAt(i - 1) != '\\')) {
                inside = true;
                out.append(c);
                continue;
            }
            if (inside && c == ']' && regex.charAt(i - 1) != '\\') {
                inside = false;
                out.append(c);
                continue;
            }
            if (c == '\\' && regex.startsWith("\\p{", i)) {
                int close = regex.indexOf('}', i);
                String set = switch (regex.substring(i, close + 1)) {
                    case "\\p{N}" -> "\u00D10-9";
                    case "\\p{L}" -> "\u00D2A-Za-z";
                    case "\\p{P}" -> "\u00D3!-#%-*,-/:-;?-@\\[-\\]_\\{\\}";
                    case "\\p{M}" -> "\u00D4";
                    case "\\p{S}" -> "\u00D5\\$\\+<->^`\\|";
                    default -> throw new IllegalArgumentException("class " + regex.substring(i, close + 1));
                };
                out.append(inside ? set : "[" + set + "]");
                i = close;
                continue;
            }
            out.append(c);
        }
        return new Regex(Pattern.compile(out.toString()), true);
    }

    private static final String DEEPSEEK_PUNCT = "!-/:-~\\uFF01-\\uFF0F\\uFF1A-\\uFF5E\\u2018-\\u201F\\u3000-\\u3002";
    private static final String DEEPSEEK_V3_CJK = "\\u4E00-\\u9FA5\\u3040-\\u309F\\u30A0-\\u30FF";
    private static final String DEEPSEEK_CJK = "\\u4E00-\\u9FA5\\u0800-\\u4E00\\uAC00-\\uD7FF";

    // DeepSeek-LLM's letter class (from its tokenizer.json; cased letters of an older Unicode).
    private static final String DEEPSEEK_LLM_LETTERS = "A-Za-z\\u00B5\\u00C0-\\u00D6\\u00D8-\\u00F6\\u00F8-\\u01BA"
            + "\\u01BC-\\u01BF\\u01C4-\\u0293\\u0295-\\u02AF\\u0370-\\u0373\\u0376\\u0377\\u037B-\\u037D\\u037F\\u0386"
            + "\\u0388-\\u038A\\u038C\\u038E-\\u03A1\\u03A3-\\u03F5\\u03F7-\\u0481\\u048A-\\u052F\\u0531-\\u0556"
            + "\\u10A0-\\u10C5\\u13A0-\\u13F5\\u13F8-\\u13FD\\u1C90-\\u1CBA\\u1CBD-\\u1CBF\\u1D00-\\u1D2B"
            + "\\u1D6B-\\u1D77\\u1D79-\\u1D9A\\u1E00-\\u1F15\\u1F18-\\u1F1D\\u1F20-\\u1F45\\u1F48-\\u1F4D"
            + "\\u1F50-\\u1F57\\u1F59\\u1F5B\\u1F5D\\u1F5F-\\u1F7D\\u1F80-\\u1FB4\\u1FB6-\\u1FBC\\u1FBE"
            + "\\u1FC2-\\u1FC4\\u1FC6-\\u1FCC\\u1FD0-\\u1FD3\\u1FD6-\\u1FDB\\u1FE0-\\u1FEC\\u1FF2-\\u1FF4"
            + "\\u1FF6-\\u1FFC\\u2102\\u2107\\u210A-\\u2113\\u2115\\u2119-\\u211D\\u2124\\u2126\\u2128"
            + "\\u212A-\\u212D\\u212F-\\u2134\\u2139\\u213C-\\u213F\\u2145-\\u2149\\u214E\\u2183\\u2184"
            + "\\u2C00-\\u2C7B\\u2C7E-\\u2CE4\\u2CEB-\\u2CEE\\u2CF2\\u2CF3\\uA640-\\uA66D\\uA680-\\uA69B"
            + "\\uA722-\\uA76F\\uA771-\\uA787\\uA78B-\\uA78E\\uAB70-\\uABBF\\uFB00-\\uFB06\\uFB13-\\uFB17"
            + "\\uFF21-\\uFF3A\\uFF41-\\uFF5A\\x{10400}-\\x{1044F}\\x{104B0}-\\x{104D3}\\x{104D8}-\\x{104FB}"
            + "\\x{10C80}-\\x{10CB2}\\x{10CC0}-\\x{10CF2}\\x{118A0}-\\x{118DF}\\x{1E900}-\\x{1E943}";

    // ---- the simple regex shapes \s?[set]+ and \s+\z, without java.util.regex (same matches)

    /**
     * {@code \s?[set]+} (optionalSpace) or {@code [set]+}, found left to right like Matcher.find.
     * The predicate sees code points; non-ASCII whitespace never matches it (llama.cpp replaced it
     * by VT before matching), and \s is ASCII whitespace plus that VT.
     */
    private record SetRun(boolean optionalSpace, IntPredicate set, int maxRun) implements Stage {
        public void apply(Segment seg, Ints in, Ints out) {
            int a = 0;
            for (int i = 0; i < in.size; i++) {
                int b = in.get(i);
                int prev = a;
                int p = a;
                while (p < b) {
                    int q;
                    if (optionalSpace && CodepointFlags.isWhitespace(seg.cp(p)) && p + 1 < b && member(seg.cp(p + 1))) {
                        q = p + 1;
                    } else if (member(seg.cp(p))) {
                        q = p;
                    } else {
                        p++;
                        continue;
                    }
                    int limit = (int) Math.min(b, (long) q + maxRun);
                    while (q < limit && member(seg.cp(q))) {
                        q++;
                    }
                    if (p > prev) {
                        out.add(p);
                    }
                    out.add(q);
                    prev = q;
                    p = q;
                }
                if (prev < b) {
                    out.add(b);
                }
                a = b;
            }
        }

        private boolean member(int cp) {
            return set.test(cp) && (cp < 128 || !CodepointFlags.isWhitespace(cp));
        }
    }

    /** {@code \s+\z}: the trailing whitespace run of each piece becomes its own piece. */
    private record TrailingSpace() implements Stage {
        public void apply(Segment seg, Ints in, Ints out) {
            int a = 0;
            for (int i = 0; i < in.size; i++) {
                int b = in.get(i);
                int w = b;
                while (w > a && CodepointFlags.isWhitespace(seg.cp(w - 1))) {
                    w--;
                }
                if (w > a && w < b) {
                    out.add(w);
                }
                out.add(b);
                a = b;
            }
        }
    }

    /** A code point set from regex class syntax: chars, backslash-u and backslash-x escapes, ranges. */
    private static IntPredicate set(String cls) {
        List<Integer> cps = new ArrayList<>();
        for (int i = 0; i < cls.length(); ) {
            int c;
            if (cls.startsWith("\\u", i)) {
                c = Integer.parseInt(cls.substring(i + 2, i + 6), 16);
                i += 6;
            } else if (cls.startsWith("\\x{", i)) {
                int close = cls.indexOf('}', i);
                c = Integer.parseInt(cls.substring(i + 3, close), 16);
                i = close + 1;
            } else if (cls.charAt(i) == '-' && !cps.isEmpty() && i + 1 < cls.length()) {
                c = -1; // range marker
                i++;
            } else {
                c = cls.codePointAt(i);
                i += Character.charCount(c);
            }
            cps.add(c);
        }
        boolean[] bmp = new boolean[0x10000];
        List<int[]> high = new ArrayList<>();
        for (int k = 0; k < cps.size(); k++) {
            int lo = cps.get(k);
            int hi = lo;
            if (k + 2 < cps.size() && cps.get(k + 1) == -1) {
                hi = cps.get(k + 2);
                k += 2;
            }
            for (int c = lo; c <= hi; c++) {
                if (c < 0x10000) {
                    bmp[c] = true;
                }
            }
            if (hi >= 0x10000) {
                high.add(new int[]{Math.max(lo, 0x10000), hi});
            }
        }
        int[][] ranges = high.toArray(new int[0][]);
        return cp -> {
            if (cp < 0x10000) {
                return bmp[cp];
            }
            for (int[] r : ranges) {
                if (cp >= r[0] && cp <= r[1]) {
                    return true;
                }
            }
            return false;
        };
    }

    // llama.cpp's collapsed classes: \p{L} is A-Za-z or a non-ASCII letter, \p{P} its ASCII list or a
    // non-ASCII punctuation char, \p{N} 0-9 or a non-ASCII number (whitespace is excluded by SetRun)
    private static boolean isLetter(int cp) {
        return (CodepointFlags.of(cp) & LETTER) != 0;
    }

    private static boolean isNumber(int cp) {
        return (CodepointFlags.of(cp) & NUMBER) != 0;
    }

    private static boolean isPunct(int cp) {
        return (CodepointFlags.of(cp) & PUNCT) != 0;
    }

    // ---- hand-written scanners (llama.cpp unicode_regex_split_custom_*)

    private static boolean isCrLf(int cp) {
        return cp == '\r' || cp == '\n';
    }

    private static int flagsAt(Segment s, int i, int end) {
        return i < end ? s.flags(i) : 0;
    }

    /** GPT-2: 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+ */
    private static int gpt2(Segment s, int p, int end) {
        int c = s.cp(p);
        if (c == '\'' && p + 1 < end) {
            int c1 = s.cp(p + 1);
            if (c1 == 's' || c1 == 't' || c1 == 'm' || c1 == 'd') {
                return p + 2;
            }
            if (p + 2 < end) {
                int c2 = s.cp(p + 2);
                if ((c1 == 'r' && c2 == 'e') || (c1 == 'v' && c2 == 'e') || (c1 == 'l' && c2 == 'l')) {
                    return p + 3;
                }
            }
        }
        int q = c == ' ' ? p + 1 : p;
        int f2 = flagsAt(s, q, end);
        if ((f2 & LETTER) != 0) {
            return run(s, q, end, LETTER);
        }
        if ((f2 & NUMBER) != 0) {
            return run(s, q, end, NUMBER);
        }
        if ((f2 & (SPACE | LETTER | NUMBER)) == 0 && f2 != 0) {
            while (q < end && isOther(s.flags(q))) {
                q++;
            }
            return q;
        }
        return whitespace(s, p, end, false);
    }

    /** Llama 3: (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+ */
    private static int llama3(Segment s, int p, int end) {
        int c = s.cp(p);
        int f = s.flags(p);
        int contraction = contraction(s, p, end);
        if (contraction > p) {
            return contraction;
        }
        if (!isCrLf(c) && (f & NUMBER) == 0 && ((f & LETTER) != 0 || (flagsAt(s, p + 1, end) & LETTER) != 0)) {
            return run(s, p + 1, end, LETTER);
        }
        if ((f & NUMBER) != 0) {
            return Math.min(run(s, p, end, NUMBER), p + 3);
        }
        int q = c == ' ' ? p + 1 : p;
        int f2 = flagsAt(s, q, end);
        // llama.cpp tests "defined" on the first char, not the one after the space
        if ((f2 & (SPACE | LETTER | NUMBER)) == 0 && f != 0) {
            while (q < end && isOther(s.flags(q))) {
                q++;
            }
            while (q < end && isCrLf(s.cp(q))) {
                q++;
            }
            return q;
        }
        return whitespace(s, p, end, true);
    }

    /**
     * Kimi K2 (tiktoken pattern, alternatives in order): [\p{Han}]+ | [^\r\n\p{L}\p{N}]?U*L+C? |
     * [^\r\n\p{L}\p{N}]?U+L*C? | \p{N}{1,3} | ?[^\s\p{L}\p{N}]+[\r\n]* | \s*[\r\n]+ | \s+(?!\S) | \s+
     * where U = [\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}&&[^\p{Han}]], L = [\p{Ll}\p{Lm}\p{Lo}\p{M}&&[^\p{Han}]]
     * and C = (?i:'s|'t|'re|'ve|'m|'ll|'d). Written with the regex's backtracking, so camelCase
     * splits as in the model's own tokenizer ("camel", "Case").
     */
    private static int kimi(Segment s, int p, int end) {
        int c = s.cp(p);
        int f = s.flags(p);
        if ((f & HAN) != 0) {
            int q = p + 1;
            while (q < end && (s.flags(q) & HAN) != 0) {
                q++;
            }
            return q;
        }
        boolean prefix = !isCrLf(c) && (f & (LETTER | NUMBER)) == 0;
        int m = -1;
        if (prefix) {
            m = kimiWord(s, p + 1, end, true);
        }
        if (m < 0) {
            m = kimiWord(s, p, end, true);
        }
        if (m < 0 && prefix) {
            m = kimiWord(s, p + 1, end, false);
        }
        if (m < 0) {
            m = kimiWord(s, p, end, false);
        }
        if (m >= 0) {
            int k = contraction(s, m, end);
            return Math.max(k, m);
        }
        if ((f & NUMBER) != 0) {
            return Math.min(run(s, p, end, NUMBER), p + 3);
        }
        int q = c == ' ' ? p + 1 : p;
        if (q < end && (s.flags(q) & (SPACE | LETTER | NUMBER)) == 0) {
            while (q < end && (s.flags(q) & (SPACE | LETTER | NUMBER)) == 0) {
                q++;
            }
            while (q < end && isCrLf(s.cp(q))) {
                q++;
            }
            return q;
        }
        return whitespace(s, p, end, true);
    }

    private static boolean kimiUpper(int f) {
        return (f & HAN) == 0 && (((f & LETTER) != 0 && (f & LOWER) == 0) || (f & MARK) != 0);
    }

    private static boolean kimiLower(int f) {
        return (f & HAN) == 0 && (((f & LETTER) != 0 && (f & UPPER_TITLE) == 0) || (f & MARK) != 0);
    }

    /** U*L+ (lowerRequired) or U+L* from q; the end, or -1. */
    private static int kimiWord(Segment s, int q, int end, boolean lowerRequired) {
        int j = q;
        while (j < end && kimiUpper(s.flags(j))) {
            j++;
        }
        if (!lowerRequired) {
            if (j == q) {
                return -1;
            }
            while (j < end && kimiLower(s.flags(j))) {
                j++;
            }
            return j;
        }
        for (int k = j; k >= q; k--) { // give back U* one by one until L+ can match
            if (k < end && kimiLower(s.flags(k))) {
                int m = k + 1;
                while (m < end && kimiLower(s.flags(m))) {
                    m++;
                }
                return m;
            }
        }
        return -1;
    }

    /** The end of a case-insensitive 's 't 're 've 'm 'll 'd at p, or p. */
    private static int contraction(Segment s, int p, int end) {
        if (p + 1 < end && s.cp(p) == '\'') {
            int c1 = fold(s.cp(p + 1));
            if (c1 == 's' || c1 == 't' || c1 == 'm' || c1 == 'd') {
                return p + 2;
            }
            if (p + 2 < end) {
                int c2 = fold(s.cp(p + 2));
                if ((c1 == 'r' && c2 == 'e') || (c1 == 'v' && c2 == 'e') || (c1 == 'l' && c2 == 'l')) {
                    return p + 3;
                }
            }
        }
        return p;
    }

    private static int fold(int c) {
        if (c >= 'A' && c <= 'Z') {
            return c + 32;
        }
        return c == 0x17F ? 's' : c; // long s folds to s (simple case folding)
    }

    private static boolean isOther(int f) {
        return (f & (SPACE | LETTER | NUMBER)) == 0 && f != 0;
    }

    private static int run(Segment s, int q, int end, int flag) {
        while (q < end && (s.flags(q) & flag) != 0) {
            q++;
        }
        return q;
    }

    /** \s*[\r\n]+ (if crlf) | \s+(?!\S) | \s+ | one char. */
    private static int whitespace(Segment s, int p, int end, boolean crlf) {
        int w = p;
        int lastCrLf = -1;
        while (w < end && (s.flags(w) & SPACE) != 0) {
            if (isCrLf(s.cp(w))) {
                lastCrLf = w;
            }
            w++;
        }
        if (crlf && lastCrLf >= 0) {
            return lastCrLf + 1;
        }
        if (w - p > 1 && w < end) {
            return w - 1;
        }
        return w > p ? w : p + 1;
    }
}
