package io.trillium.json;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A JSON Schema {@code pattern} (ECMA-262 syntax, the common subset) compiled to a Thompson NFA over
 * code points, for strings generated under it: the state is a set of NFA states (a bit set, shared,
 * never mutated), and every NFA state knows the fewest JSON bytes to an accepting state, so a string
 * frame knows exactly how many bytes still finish it.
 *
 * <p>Supported: literals and escapes ({@code \d \w \s \D \W \S}, {@code \t \n \r \f \v}, backslash-u with 4 hex digits,
 * escaped punctuation), {@code .}, classes {@code [a-z0-9_]} and {@code [^…]}, groups {@code (…)} and
 * {@code (?:…)}, alternation, {@code * + ?} and {@code {n} {n,} {n,m}} (lazy forms match the same strings),
 * {@code ^} at the start and {@code $} at the end. Without them a pattern matches anywhere in the string,
 * as {@code RegExp.test} does. Back-references, look-arounds, other anchors and flags are refused.
 */
final class JsonRegex {
    /** NFA states at most (counted repetition copies its operand). */
    static final int MAX_STATES = 4000;
    private static final int MAX_CP = 0x10FFFF;

    /** DFA states at most (a pattern whose subset construction grows past this is refused). */
    static final int MAX_DFA_STATES = 10_000;

    /** Per NFA state: the code point ranges of its one transition (null: none), its target, its epsilon successors. */
    private final int[][] ranges;
    private final int[] target;
    private final int[][] eps;
    private final int accept;
    private final long[][] closure;   // epsilon closure of each NFA state
    private final int[] dist;         // fewest JSON bytes from an NFA state to acceptance
    /*
     * The DFA, built once at compile time (subset construction over classes of code points that every NFA
     * transition treats alike), so that a string frame steps with a binary search and an array lookup and
     * its costs are table lookups: the vocabulary walk steps a pattern hundreds of thousands of times per
     * token. Immutable, so a compiled schema is shared by any number of generations.
     */
    private final int[] classStart;   // class k: code points classStart[k] .. classStart[k + 1] - 1
    private final int[][] next;       // next[d][k]: the DFA state after a code point of class k, -1: none
    private final int[] dfaCost;      // fewest JSON bytes from DFA state d to acceptance
    private final boolean[] dfaAccept;
    /** The DFA state before the first code point. */
    final int start = 0;
    final String source;

    private JsonRegex(String source, int[][] ranges, int[] target, int[][] eps, int start, int accept) {
        this.source = source;
        this.ranges = ranges;
        this.target = target;
        this.eps = eps;
        this.accept = accept;
        int n = ranges.length;
        this.closure = new long[n][];
        for (int s = 0; s < n; s++) {
            closure[s] = closure(s);
        }
        this.dist = distances();
        this.classStart = classes();
        List<long[]> sets = new ArrayList<>();
        java.util.Map<Key, Integer> ids = new java.util.HashMap<>();
        List<int[]> rows = new ArrayList<>();
        sets.add(closure[start]);
        ids.put(new Key(closure[start]), 0);
        for (int d = 0; d < sets.size(); d++) {
            int[] row = new int[classStart.length - 1];
            for (int k = 0; k < row.length; k++) {
                long[] t = nfaStep(sets.get(d), classStart[k]);
                if (t == null) {
                    row[k] = -1;
                    continue;
                }
                Integer id = ids.get(new Key(t));
                if (id == null) {
                    if (sets.size() >= MAX_DFA_STATES) {
                        throw new IllegalArgumentException("pattern /" + source + "/ is too complex (its automaton"
                                + " has over " + MAX_DFA_STATES + " states)");
                    }
                    id = sets.size();
                    sets.add(t);
                    ids.put(new Key(t), id);
                }
                row[k] = id;
            }
            rows.add(row);
        }
        this.next = rows.toArray(int[][]::new);
        this.dfaCost = new int[sets.size()];
        this.dfaAccept = new boolean[sets.size()];
        for (int d = 0; d < sets.size(); d++) {
            dfaCost[d] = nfaCost(sets.get(d));
            dfaAccept[d] = (sets.get(d)[accept >>> 6] & 1L << accept) != 0;
        }
    }

    private record Key(long[] bits) {
        @Override
        public boolean equals(Object o) {
            return o instanceof Key k && java.util.Arrays.equals(bits, k.bits);
        }

        @Override
        public int hashCode() {
            return java.util.Arrays.hashCode(bits);
        }
    }

    /** @throws IllegalArgumentException what in the pattern is not supported, and where */
    static JsonRegex compile(String pattern) {
        Parser p = new Parser(pattern);
        return p.compile();
    }

    /** Whether the state accepts (the string may end here). */
    boolean accepts(int d) {
        return dfaAccept[d];
    }

    /** The state after code point {@code cp}, or -1 if the pattern takes no such code point here. */
    int step(int d, int cp) {
        return next[d][classOf(cp)];
    }

    /** Fewest JSON bytes (string content, quotes not counted) that take the state to acceptance. */
    int cost(int d) {
        return dfaCost[d];
    }

    /**
     * The fewest bytes to acceptance after one more code point in {@code [lo, hi]}, not counting that
     * code point's own bytes; {@link Shape#NEVER} when the pattern takes none of them here.
     */
    int costVia(int d, int lo, int hi) {
        int m = Shape.NEVER;
        int[] row = next[d];
        for (int k = classOf(lo); k < row.length && classStart[k] <= hi; k++) {
            if (row[k] >= 0) {
                m = Math.min(m, dfaCost[row[k]]);
            }
        }
        return m;
    }

    private int classOf(int cp) {
        int k = java.util.Arrays.binarySearch(classStart, cp);
        return k >= 0 ? k : -k - 2;
    }

    /** Boundaries where some transition's range begins or ends: code points within a class are interchangeable. */
    private int[] classes() {
        java.util.TreeSet<Integer> b = new java.util.TreeSet<>();
        b.add(0);
        b.add(MAX_CP + 1);
        for (int[] r : ranges) {
            if (r != null) {
                for (int i = 0; i < r.length; i += 2) {
                    b.add(r[i]);
                    b.add(r[i + 1] + 1);
                }
            }
        }
        return b.stream().mapToInt(Integer::intValue).toArray();
    }

    /** The NFA state set after code point {@code cp}, or null. */
    private long[] nfaStep(long[] s, int cp) {
        long[] out = null;
        for (int w = 0; w < s.length; w++) {
            for (long bits = s[w]; bits != 0; bits &= bits - 1) {
                int i = (w << 6) + Long.numberOfTrailingZeros(bits);
                if (ranges[i] != null && contains(ranges[i], cp)) {
                    if (out == null) {
                        out = new long[s.length];
                    }
                    long[] c = closure[target[i]];
                    for (int k = 0; k < out.length; k++) {
                        out[k] |= c[k];
                    }
                }
            }
        }
        return out;
    }

    private int nfaCost(long[] s) {
        int m = Shape.NEVER;
        for (int w = 0; w < s.length; w++) {
            for (long bits = s[w]; bits != 0; bits &= bits - 1) {
                m = Math.min(m, dist[(w << 6) + Long.numberOfTrailingZeros(bits)]);
            }
        }
        return m;
    }

    private long[] closure(int s) {
        long[] set = new long[(ranges.length + 63) >>> 6];
        int[] stack = new int[ranges.length];
        int top = 0;
        stack[top++] = s;
        set[s >>> 6] |= 1L << s;
        while (top > 0) {
            int x = stack[--top];
            for (int y : eps[x]) {
                if ((set[y >>> 6] & 1L << y) == 0) {
                    set[y >>> 6] |= 1L << y;
                    stack[top++] = y;
                }
            }
        }
        return set;
    }

    /** Bellman-Ford from acceptance backwards: a transition costs its cheapest code point's JSON bytes. */
    private int[] distances() {
        int n = ranges.length;
        int[] d = new int[n];
        Arrays.fill(d, Shape.NEVER);
        d[accept] = 0;
        int[] charCost = new int[n];
        for (int s = 0; s < n; s++) {
            charCost[s] = ranges[s] == null ? Shape.NEVER : cheapest(ranges[s]);
        }
        for (boolean changed = true; changed; ) {
            changed = false;
            for (int s = 0; s < n; s++) {
                int best = d[s];
                for (int e : eps[s]) {
                    best = Math.min(best, d[e]);
                }
                if (ranges[s] != null) {
                    best = Math.min(best, Shape.add(charCost[s], d[target[s]]));
                }
                if (best < d[s]) {
                    d[s] = best;
                    changed = true;
                }
            }
        }
        return d;
    }

    /** Bytes a code point takes inside a JSON string written as compactly as possible. */
    static int jsonBytes(int cp) {
        if (cp == '"' || cp == '\\' || cp == '\b' || cp == '\f' || cp == '\n' || cp == '\r' || cp == '\t') {
            return 2;
        }
        if (cp < 0x20) {
            return 6;
        }
        return cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    }

    /** Code points by the bytes they take in a JSON string, cheapest first (surrogates are never written). */
    private static final int[][][] BY_COST = {
            {{0x20, 0x21}, {0x23, 0x5B}, {0x5D, 0x7F}},
            {{'"', '"'}, {'\\', '\\'}, {'\b', '\t'}, {'\n', '\n'}, {'\f', '\r'}, {0x80, 0x7FF}},
            {{0x800, 0xD7FF}, {0xE000, 0xFFFF}},
            {{0x10000, MAX_CP}},
            {{0, 0x1F}}};
    private static final int[] COST = {1, 2, 3, 4, 6};

    /** The fewest bytes of any code point in the ranges. */
    private static int cheapest(int[] r) {
        for (int c = 0; c < BY_COST.length; c++) {
            for (int[] band : BY_COST[c]) {
                if (intersects(r, band[0], band[1])) {
                    return COST[c];
                }
            }
        }
        return Shape.NEVER;
    }

    private static boolean contains(int[] r, int cp) {
        for (int i = 0; i < r.length; i += 2) {
            if (cp >= r[i] && cp <= r[i + 1]) {
                return true;
            }
        }
        return false;
    }

    private static boolean intersects(int[] r, int lo, int hi) {
        for (int i = 0; i < r.length; i += 2) {
            if (r[i] <= hi && r[i + 1] >= lo) {
                return true;
            }
        }
        return false;
    }

    /** Recursive descent to NFA fragments (Thompson). */
    private static final class Parser {
        private final String src;
        private int pos;
        private final List<int[]> rangesOf = new ArrayList<>();
        private final List<Integer> targetOf = new ArrayList<>();
        private final List<List<Integer>> epsOf = new ArrayList<>();

        Parser(String src) {
            this.src = src;
        }

        private record Frag(int in, int out) {
        }

        private int state() {
            if (rangesOf.size() >= MAX_STATES) {
                throw error("pattern too large (over " + MAX_STATES + " states after expanding repetitions)");
            }
            rangesOf.add(null);
            targetOf.add(-1);
            epsOf.add(new ArrayList<>());
            return rangesOf.size() - 1;
        }

        private void epsilon(int from, int to) {
            epsOf.get(from).add(to);
        }

        private Frag chars(int[] r) {
            int a = state(), b = state();
            rangesOf.set(a, r);
            targetOf.set(a, b);
            return new Frag(a, b);
        }

        private Frag empty() {
            int a = state();
            return new Frag(a, a);
        }

        JsonRegex compile() {
            boolean anchoredStart = src.startsWith("^");
            if (anchoredStart) {
                pos = 1;
            }
            Frag body = alternation();
            boolean anchoredEnd = false;
            if (pos < src.length() && src.charAt(pos) == '$' && pos == src.length() - 1) {
                anchoredEnd = true;
                pos++;
            }
            if (pos != src.length()) {
                throw error("unexpected '" + src.charAt(pos) + "'");
            }
            Frag f = body;
            if (!anchoredStart) {
                f = concat(star(chars(new int[]{0, MAX_CP})), f);
            }
            if (!anchoredEnd) {
                f = concat(f, star(chars(new int[]{0, MAX_CP})));
            }
            int n = rangesOf.size();
            int[][] r = rangesOf.toArray(int[][]::new);
            int[] t = new int[n];
            int[][] e = new int[n][];
            for (int i = 0; i < n; i++) {
                t[i] = targetOf.get(i);
                e[i] = epsOf.get(i).stream().mapToInt(Integer::intValue).toArray();
            }
            return new JsonRegex(src, r, t, e, f.in, f.out);
        }

        private Frag alternation() {
            Frag left = sequence();
            while (pos < src.length() && src.charAt(pos) == '|') {
                pos++;
                Frag right = sequence();
                int in = state(), out = state();
                epsilon(in, left.in);
                epsilon(in, right.in);
                epsilon(left.out, out);
                epsilon(right.out, out);
                left = new Frag(in, out);
            }
            return left;
        }

        private Frag sequence() {
            Frag f = empty();
            while (pos < src.length() && src.charAt(pos) != '|' && src.charAt(pos) != ')'
                    && !(src.charAt(pos) == '$' && pos == src.length() - 1)) {
                f = concat(f, repeat());
            }
            return f;
        }

        private Frag concat(Frag a, Frag b) {
            epsilon(a.out, b.in);
            return new Frag(a.in, b.out);
        }

        private Frag star(Frag a) {
            int in = state(), out = state();
            epsilon(in, a.in);
            epsilon(in, out);
            epsilon(a.out, a.in);
            epsilon(a.out, out);
            return new Frag(in, out);
        }

        private Frag optional(Frag a) {
            int in = state(), out = state();
            epsilon(in, a.in);
            epsilon(in, out);
            epsilon(a.out, out);
            return new Frag(in, out);
        }

        private Frag repeat() {
            int atomStart = pos;
            Frag a = atom();
            int atomEnd = pos;
            if (pos >= src.length()) {
                return a;
            }
            char c = src.charAt(pos);
            int min, max;
            if (c == '*') {
                min = 0;
                max = -1;
                pos++;
            } else if (c == '+') {
                min = 1;
                max = -1;
                pos++;
            } else if (c == '?') {
                min = 0;
                max = 1;
                pos++;
            } else if (c == '{' && counted()) {
                pos++;
                min = number();
                max = min;
                if (src.charAt(pos) == ',') {
                    pos++;
                    max = src.charAt(pos) == '}' ? -1 : number();
                }
                pos++;   // '}'
                if (max >= 0 && max < min) {
                    throw error("repetition {" + min + "," + max + "} has max < min");
                }
            } else {
                return a;
            }
            if (pos < src.length() && src.charAt(pos) == '?') {
                pos++;   // lazy: the same strings
            }
            if (min > 1000 || max > 1000) {
                throw error("repetition count over 1000");
            }
            // the operand again for each copy: re-parse its text (fragments are single-use)
            List<Frag> copies = new ArrayList<>();
            copies.add(a);
            int copiesNeeded = max < 0 ? Math.max(min, 1) : Math.max(max, 1);
            for (int i = 1; i < copiesNeeded; i++) {
                int save = pos;
                pos = atomStart;
                copies.add(atom());
                if (pos != atomEnd) {
                    throw error("internal: operand re-parse");
                }
                pos = save;
            }
            Frag f = empty();
            for (int i = 0; i < min; i++) {
                f = concat(f, copies.get(i));
            }
            if (max < 0) {
                Frag loop = min > 0 ? copies.get(min - 1) : copies.get(0);
                if (min > 0) {
                    epsilon(loop.out, loop.in);   // the last mandatory copy may repeat
                } else {
                    f = concat(f, star(loop));
                }
            } else {
                for (int i = min; i < max; i++) {
                    f = concat(f, optional(copies.get(i)));
                }
            }
            return f;
        }

        private boolean counted() {
            int p = pos + 1;
            int digits = 0;
            while (p < src.length() && Character.isDigit(src.charAt(p))) {
                p++;
                digits++;
            }
            if (digits == 0 || p >= src.length()) {
                return false;
            }
            if (src.charAt(p) == '}') {
                return true;
            }
            if (src.charAt(p) != ',') {
                return false;
            }
            p++;
            while (p < src.length() && Character.isDigit(src.charAt(p))) {
                p++;
            }
            return p < src.length() && src.charAt(p) == '}';
        }

        private int number() {
            int start = pos;
            while (pos < src.length() && Character.isDigit(src.charAt(pos))) {
                pos++;
            }
            String digits = src.substring(start, pos);
            if (digits.length() > 6) {
                throw error("repetition count too large");
            }
            return Integer.parseInt(digits);
        }

        private Frag atom() {
            char c = src.charAt(pos);
            switch (c) {
                case '(' -> {
                    pos++;
                    if (src.startsWith("?:", pos)) {
                        pos += 2;
                    } else if (src.startsWith("?", pos)) {
                        throw error("look-arounds and named groups are not supported");
                    }
                    Frag f = alternation();
                    if (pos >= src.length() || src.charAt(pos) != ')') {
                        throw error("missing ')'");
                    }
                    pos++;
                    return f;
                }
                case '[' -> {
                    return chars(charClass());
                }
                case '.' -> {
                    pos++;
                    return chars(complement(new int[]{'\n', '\n', '\r', '\r', 0x85, 0x85, 0x2028, 0x2029}));
                }
                case '\\' -> {
                    pos++;
                    return chars(escape(false));
                }
                case '^', '$' -> throw error("anchor '" + c + "' only at the start or end of the pattern");
                case '*', '+', '?', '{' -> {
                    if (c == '{' && !counted()) {
                        pos++;
                        return chars(new int[]{'{', '{'});
                    }
                    throw error("nothing to repeat before '" + c + "'");
                }
                default -> {
                    int cp = src.codePointAt(pos);
                    pos += Character.charCount(cp);
                    return chars(new int[]{cp, cp});
                }
            }
        }

        /** An escape after the backslash: a class ({@code \d}) or one code point. */
        private int[] escape(boolean inClass) {
            if (pos >= src.length()) {
                throw error("pattern ends in a backslash");
            }
            char e = src.charAt(pos++);
            return switch (e) {
                case 'd' -> new int[]{'0', '9'};
                case 'D' -> complement(new int[]{'0', '9'});
                case 'w' -> new int[]{'0', '9', 'A', 'Z', '_', '_', 'a', 'z'};
                case 'W' -> complement(new int[]{'0', '9', 'A', 'Z', '_', '_', 'a', 'z'});
                case 's' -> ASCII_SPACE;
                case 'S' -> complement(SPACE);
                case 't' -> new int[]{'\t', '\t'};
                case 'n' -> new int[]{'\n', '\n'};
                case 'r' -> new int[]{'\r', '\r'};
                case 'f' -> new int[]{'\f', '\f'};
                case 'v' -> new int[]{0x0B, 0x0B};
                case '0' -> new int[]{0, 0};
                case 'u' -> {
                    if (pos + 4 > src.length()) {
                        throw error("\\u needs 4 hex digits");
                    }
                    int cp;
                    try {
                        cp = Integer.parseInt(src.substring(pos, pos + 4), 16);
                    } catch (NumberFormatException x) {
                        throw error("\\u needs 4 hex digits");
                    }
                    pos += 4;
                    yield new int[]{cp, cp};
                }
                case 'b' -> {
                    if (inClass) {
                        yield new int[]{'\b', '\b'};
                    }
                    throw error("word boundaries (\\b) are not supported");
                }
                default -> {
                    if (Character.isLetterOrDigit(e)) {
                        throw error("escape \\" + e + " is not supported");
                    }
                    yield new int[]{e, e};
                }
            };
        }

        private int[] charClass() {
            pos++;   // '['
            boolean negate = pos < src.length() && src.charAt(pos) == '^';
            if (negate) {
                pos++;
            }
            List<int[]> parts = new ArrayList<>();
            boolean first = true;
            while (true) {
                if (pos >= src.length()) {
                    throw error("missing ']'");
                }
                char c = src.charAt(pos);
                if (c == ']' && !first) {
                    pos++;
                    break;
                }
                first = false;
                int[] lo;
                if (c == '\\') {
                    pos++;
                    lo = escape(true);
                } else {
                    int cp = src.codePointAt(pos);
                    pos += Character.charCount(cp);
                    lo = new int[]{cp, cp};
                }
                if (lo.length == 2 && lo[0] == lo[1] && pos + 1 < src.length() && src.charAt(pos) == '-'
                        && src.charAt(pos + 1) != ']') {
                    pos++;
                    int[] hi;
                    if (src.charAt(pos) == '\\') {
                        pos++;
                        hi = escape(true);
                    } else {
                        int cp = src.codePointAt(pos);
                        pos += Character.charCount(cp);
                        hi = new int[]{cp, cp};
                    }
                    if (hi.length != 2 || hi[0] != hi[1] || hi[0] < lo[0]) {
                        throw error("bad range in a character class");
                    }
                    parts.add(new int[]{lo[0], hi[0]});
                } else {
                    parts.add(lo);
                }
            }
            int[] set = union(parts);
            return negate ? complement(set) : set;
        }

        private IllegalArgumentException error(String what) {
            return new IllegalArgumentException("pattern /" + src + "/ at " + pos + ": " + what);
        }
    }

    /*
     * Where ECMA-262 and java.util.regex (which validators on the JVM use) differ, a class takes the
     * code points both accept, so that what is generated matches under either: \s is ASCII white space
     * (ECMA adds Unicode spaces), \S excludes every Unicode space (Java's admits them), and . excludes
     * U+0085 too (Java's line terminators).
     */
    private static final int[] ASCII_SPACE = {'\t', '\r', ' ', ' '};
    private static final int[] SPACE = {'\t', '\r', ' ', ' ', 0xA0, 0xA0, 0x1680, 0x1680, 0x2000, 0x200A,
            0x2028, 0x2029, 0x202F, 0x202F, 0x205F, 0x205F, 0x3000, 0x3000, 0xFEFF, 0xFEFF};

    /** Sorted, merged ranges of all parts. */
    static int[] union(List<int[]> parts) {
        List<int[]> pairs = new ArrayList<>();
        for (int[] p : parts) {
            for (int i = 0; i < p.length; i += 2) {
                pairs.add(new int[]{p[i], p[i + 1]});
            }
        }
        pairs.sort((a, b) -> Integer.compare(a[0], b[0]));
        List<Integer> out = new ArrayList<>();
        for (int[] p : pairs) {
            int n = out.size();
            if (n > 0 && p[0] <= out.get(n - 1) + 1) {
                out.set(n - 1, Math.max(out.get(n - 1), p[1]));
            } else {
                out.add(p[0]);
                out.add(p[1]);
            }
        }
        return out.stream().mapToInt(Integer::intValue).toArray();
    }

    static int[] complement(int[] set) {
        int[] s = union(List.of(set));
        List<Integer> out = new ArrayList<>();
        int next = 0;
        for (int i = 0; i < s.length; i += 2) {
            if (s[i] > next) {
                out.add(next);
                out.add(s[i] - 1);
            }
            next = s[i + 1] + 1;
        }
        if (next <= MAX_CP) {
            out.add(next);
            out.add(MAX_CP);
        }
        return out.stream().mapToInt(Integer::intValue).toArray();
    }
}
