package io.trillium.json;

/**
 * The byte-level automaton of a {@link JsonSchema}: which bytes may come next, and how many bytes at
 * least still finish the document. A pushdown automaton written as immutable frames: a
 * {@link Config} is one stack (top first); where the schema branches ({@code anyOf}, keys that share
 * a prefix, a number that may end) several configurations are alive at once, an array of them is the
 * state. Being immutable, a state is shared freely: the vocabulary walk in {@link JsonConstraint}
 * keeps one per byte depth and never copies.
 *
 * <p>Every frame knows its {@link Frame#cost()}, the fewest bytes before it is done; a configuration's
 * cost is the sum down its stack. This is what keeps generation complete: a token is allowed only if
 * afterwards the document can still be finished in the tokens left (see {@link JsonConstraint}).
 */
final class JsonMatcher {
    /** Whitespace bytes in a row at most (between tokens of the document). */
    static final int MAX_WHITESPACE = 16;
    /**
     * Configurations alive at most. Dropping some would break the cost guarantee (a dropped branch may be
     * the only short way to finish), so a schema that branches wider than this fails instead.
     */
    static final int MAX_CONFIGS = 4096;

    private JsonMatcher() {
    }

    /** One way to continue: frames top first, {@link #END} at the bottom. */
    static final class Config {
        final Frame top;
        final Config below;
        final int cost;

        Config(Frame top, Config below) {
            this.top = top;
            this.below = below;
            this.cost = top == null ? 0 : Shape.add(top.cost(), below.cost);
        }

        /** Whether the document may end here. */
        boolean complete() {
            Config c = this;
            while (c.top != null) {
                if (!c.top.canEnd()) {
                    return false;
                }
                c = c.below;
            }
            return true;
        }
    }

    /** The document is done: no byte may follow. */
    static final Config END = new Config(null, null);

    /** The state before the first byte of a document of this schema. */
    static Config[] start(JsonSchema schema) {
        return new Config[]{push(new Value(schema.root()), END)};
    }

    /** The state after byte {@code b} (0..255), or {@code null} if no configuration accepts it. */
    static Config[] advance(Config[] state, int b, Out out) {
        out.clear();
        for (Config c : state) {
            step(c, b, out);
        }
        return out.toState();
    }

    /** Fewest bytes that finish the document from this state. */
    static int cost(Config[] state) {
        int m = Shape.NEVER;
        for (Config c : state) {
            m = Math.min(m, c.cost);
        }
        return m;
    }

    static boolean complete(Config[] state) {
        for (Config c : state) {
            if (c.complete()) {
                return true;
            }
        }
        return false;
    }

    /** Whether the document is done and nothing may follow (the generation can stop at once). */
    static boolean finished(Config[] state) {
        for (Config c : state) {
            if (c.top != null) {
                return false;
            }
        }
        return true;
    }

    private static void step(Config c, int b, Out out) {
        if (c.top == null) {
            return;
        }
        c.top.step(b, c.below, out);
        if (c.top.canEnd()) {
            step(c.below, b, out);   // the top may end here: the byte belongs to what lies below
        }
    }

    static Config push(Frame f, Config below) {
        return new Config(f, below);
    }

    static boolean whitespace(int b) {
        return b == ' ' || b == '\n' || b == '\t' || b == '\r';
    }

    /** The successor configurations of one byte (a reusable buffer, grown as needed). */
    static final class Out {
        private Config[] buf = new Config[32];
        private int n;

        void clear() {
            n = 0;
        }

        void add(Config c) {
            if (n == buf.length) {
                if (n >= MAX_CONFIGS) {
                    throw new IllegalArgumentException("the response format's schema branches into more than " + MAX_CONFIGS
                            + " ways at once (anyOf / enum alternatives sharing a prefix); simplify it");
                }
                buf = java.util.Arrays.copyOf(buf, n * 2);
            }
            buf[n++] = c;
        }

        Config[] toState() {
            return n == 0 ? null : java.util.Arrays.copyOf(buf, n);
        }
    }

    /** A stack entry: the rest of one value (or of the whitespace before one). */
    abstract static sealed class Frame permits Ws, Value, Literal, StringFrames.Str, StringFrames.PatternStr,
            NumberFrames.Num, NumberFrames.BoundedNum, Obj, Key, Arr {
        /** Fewest bytes before this frame is done. */
        abstract int cost();

        /** Whether this frame may be done without another byte. */
        abstract boolean canEnd();

        /** Adds the configurations after byte {@code b} is consumed by this frame ({@code below}: the rest of the stack). */
        abstract void step(int b, Config below, Out out);
    }

    /** Up to {@link #MAX_WHITESPACE} whitespace bytes. */
    static final class Ws extends Frame {
        private static final Ws[] COUNT = new Ws[MAX_WHITESPACE + 1];

        static {
            for (int i = 0; i <= MAX_WHITESPACE; i++) {
                COUNT[i] = new Ws(i);
            }
        }

        private final int count;

        private Ws(int count) {
            this.count = count;
        }

        @Override
        int cost() {
            return 0;
        }

        @Override
        boolean canEnd() {
            return true;
        }

        @Override
        void step(int b, Config below, Out out) {
            if (whitespace(b) && count < MAX_WHITESPACE) {
                out.add(push(COUNT[count + 1], below));
            }
        }
    }

    static Config ws(Config below) {
        return push(Ws.COUNT[0], below);
    }

    /** A value of a shape, not begun: its first byte picks the frame. */
    static final class Value extends Frame {
        private final Shape shape;

        Value(Shape shape) {
            this.shape = shape;
        }

        @Override
        int cost() {
            return shape.minBytes;
        }

        @Override
        boolean canEnd() {
            return false;
        }

        @Override
        void step(int b, Config below, Out out) {
            enter(shape, b, below, out);
        }

        private static void enter(Shape shape, int b, Config below, Out out) {
            switch (shape) {
                case Shape.Literals l -> Literal.first(l.values, b, below, out);
                case Shape.Str s -> {
                    if (b == '"') {
                        out.add(push(s.pattern == null ? new StringFrames.Str(s, StringFrames.Str.BODY, 0, 0, 0, 0)
                                : new StringFrames.PatternStr(s.pattern, s.pattern.start, StringFrames.PatternStr.BODY, 0, 0, 0, 0), below));
                    }
                }
                case Shape.Num n -> NumberFrames.start(n).step(b, below, out);
                case Shape.Obj o -> {
                    if (b == '{') {
                        out.add(ws(push(new Obj(o, Obj.FIRST, 0, -1), below)));
                    }
                }
                case Shape.Arr a -> {
                    if (b == '[') {
                        out.add(ws(push(new Arr(a, Arr.FIRST, 0), below)));
                    }
                }
                case Shape.AnyOf any -> {
                    for (Shape alt : any.alternatives) {
                        enter(alt, b, below, out);
                    }
                }
                case Shape.Ref r -> enter(r.target, b, below, out);
            }
        }
    }

    /** The rest of one of several literals (enum values, true/false/null). */
    static final class Literal extends Frame {
        private final byte[][] values;   // the candidates that match so far
        private final int pos;

        private Literal(byte[][] values, int pos) {
            this.values = values;
            this.pos = pos;
        }

        static void first(byte[][] values, int b, Config below, Out out) {
            new Literal(values, 0).step(b, below, out);
        }

        @Override
        int cost() {
            int m = Shape.NEVER;
            for (byte[] v : values) {
                m = Math.min(m, v.length - pos);
            }
            return m;
        }

        @Override
        boolean canEnd() {
            return false;
        }

        @Override
        void step(int b, Config below, Out out) {
            int keep = 0;
            byte[] only = null;
            for (byte[] v : values) {
                if ((v[pos] & 0xff) == b) {
                    if (v.length == pos + 1) {
                        out.add(below);   // this literal is complete (it is no other one's prefix unless a number)
                    } else {
                        keep++;
                        only = v;
                    }
                }
            }
            if (keep == 1) {
                out.add(push(new Literal(values.length == 1 ? values : new byte[][]{only}, pos + 1), below));
            } else if (keep > 1) {
                byte[][] rest = new byte[keep][];
                int k = 0;
                for (byte[] v : values) {
                    if ((v[pos] & 0xff) == b && v.length > pos + 1) {
                        rest[k++] = v;
                    }
                }
                out.add(push(new Literal(rest, pos + 1), below));
            }
        }
    }

    /** An object after its opening brace; see {@link Shape.Obj}. */
    static final class Obj extends Frame {
        static final int FIRST = 0, AFTER_VALUE = 1, KEY = 2, IN_KEY = 3, COLON = 4;
        private final Shape.Obj shape;
        private final int phase;
        private final int next;   // the first property that may still come
        private final int prop;   // COLON: the property whose key was written (-1: a free-form key)

        Obj(Shape.Obj shape, int phase, int next, int prop) {
            this.shape = shape;
            this.phase = phase;
            this.next = next;
            this.prop = prop;
        }

        @Override
        int cost() {
            Shape.Obj o = shape;
            if (o.freeForm()) {
                int member = o.additional == null ? Shape.NEVER : Shape.add(4, o.additional.minBytes);   // "":v}
                return switch (phase) {
                    case FIRST, AFTER_VALUE -> 1;
                    case KEY -> member;
                    case COLON -> member - 2;
                    default -> 0;
                };
            }
            return switch (phase) {
                case FIRST -> o.afterOpen();
                case AFTER_VALUE -> o.tail[next];
                case KEY -> o.afterComma[next];
                case COLON -> Shape.add(1 + o.values[prop].minBytes, o.tail[next]);
                default -> 0;   // IN_KEY: the key frame above counts the rest
            };
        }

        @Override
        boolean canEnd() {
            return false;
        }

        @Override
        void step(int b, Config below, Out out) {
            Shape.Obj o = shape;
            switch (phase) {
                case FIRST, AFTER_VALUE -> {
                    if (b == '}' && (o.freeForm() || o.closable(next))) {
                        out.add(below);
                    } else if (phase == FIRST && b == '"') {
                        key(below, out);
                    } else if (phase == AFTER_VALUE && b == ',' && (o.freeForm() ? o.additional != null : next < o.keys.length)) {
                        out.add(ws(push(new Obj(o, KEY, next, -1), below)));
                    }
                }
                case KEY -> {
                    if (b == '"') {
                        key(below, out);
                    }
                }
                case COLON -> {
                    if (b == ':') {
                        Shape value = prop >= 0 ? o.values[prop] : o.additional;
                        Config after = ws(push(new Obj(o, AFTER_VALUE, next, -1), below));
                        out.add(ws(push(new Value(value), after)));
                    }
                }
                default -> { }   // IN_KEY: never on top
            }
        }

        /** The opening quote of a key: a free-form key string, or one of the properties that may come next. */
        private void key(Config below, Out out) {
            Shape.Obj o = shape;
            if (o.freeForm()) {
                if (o.additional != null) {
                    Config colon = ws(push(new Obj(o, COLON, 0, -1), below));
                    out.add(push(new StringFrames.Str(ANY_KEY, StringFrames.Str.BODY, 0, 0, 0, 0), colon));
                }
                return;
            }
            int last = o.lastCandidate(next);
            if (next <= last) {
                int[] live = new int[last - next + 1];
                for (int k = next; k <= last; k++) {
                    live[k - next] = k;
                }
                out.add(push(new Key(o, live, 1), push(new Obj(o, IN_KEY, next, -1), below)));
            }
        }
    }

    private static final Shape.Str ANY_KEY = new Shape.Str(0, Integer.MAX_VALUE);

    /** The rest of a declared key: the properties whose keys agree with the bytes so far; completing one picks it. */
    static final class Key extends Frame {
        private final Shape.Obj shape;
        private final int[] live;   // property indexes, ascending
        private final int pos;      // bytes of the key literal written (1: its opening quote)

        Key(Shape.Obj shape, int[] live, int pos) {
            this.shape = shape;
            this.live = live;
            this.pos = pos;
        }

        @Override
        int cost() {
            int m = Shape.NEVER;
            for (int k : live) {
                m = Math.min(m, Shape.add(shape.keys[k].length - pos + 1 + shape.values[k].minBytes, shape.tail[k + 1]));
            }
            return m;
        }

        @Override
        boolean canEnd() {
            return false;
        }

        @Override
        void step(int b, Config below, Out out) {
            int keep = 0;
            for (int k : live) {
                byte[] key = shape.keys[k];
                if ((key[pos] & 0xff) == b) {
                    if (key.length == pos + 1) {
                        // key complete: the object (below the IN_KEY frame), now past property k, wants its colon
                        out.add(ws(push(new Obj(shape, Obj.COLON, k + 1, k), below.below)));
                    } else {
                        keep++;
                    }
                }
            }
            if (keep > 0) {
                int[] rest = new int[keep];
                int i = 0;
                for (int k : live) {
                    byte[] key = shape.keys[k];
                    if ((key[pos] & 0xff) == b && key.length > pos + 1) {
                        rest[i++] = k;
                    }
                }
                out.add(push(new Key(shape, rest, pos + 1), below));
            }
        }
    }

    /** An array after its opening bracket. */
    static final class Arr extends Frame {
        static final int FIRST = 0, AFTER_ITEM = 1;
        private final Shape.Arr shape;
        private final int phase;
        private final int count;

        Arr(Shape.Arr shape, int phase, int count) {
            this.shape = shape;
            this.phase = phase;
            this.count = count;
        }

        @Override
        int cost() {
            if (phase == FIRST) {
                return shape.minItems == 0 ? 1 : Shape.add(shape.items.minBytes, shape.afterItems(1));
            }
            return shape.afterItems(count);
        }

        @Override
        boolean canEnd() {
            return false;
        }

        private Config item(int countAfter, Config below) {
            return push(new Value(shape.items), ws(push(new Arr(shape, AFTER_ITEM, countAfter), below)));
        }

        @Override
        void step(int b, Config below, Out out) {
            if (b == ']' && count >= shape.minItems) {
                out.add(below);
            } else if (phase == FIRST && shape.maxItems > 0) {
                Config first = item(1, below);
                first.top.step(b, first.below, out);
            } else if (phase == AFTER_ITEM && b == ',' && count < shape.maxItems) {
                out.add(ws(item(count + 1, below)));
            }
        }
    }
}
