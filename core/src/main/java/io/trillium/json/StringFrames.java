package io.trillium.json;

import io.trillium.json.JsonMatcher.Config;
import io.trillium.json.JsonMatcher.Frame;
import io.trillium.json.JsonMatcher.Out;

import static io.trillium.json.JsonMatcher.push;

/** The frames of a string's body: free (escapes, UTF-8, length bounds) and under a pattern. */
final class StringFrames {
    private StringFrames() {
    }

    static int hexDigit(int b) {
        return b >= '0' && b <= '9' ? b - '0' : b >= 'a' && b <= 'f' ? b - 'a' + 10 : b >= 'A' && b <= 'F' ? b - 'A' + 10 : -1;
    }

    /** A string's body after its opening quote: escapes, UTF-8 sequences, length bounds in code points. */
    static final class Str extends Frame {
        static final int BODY = 0, ESCAPE = 1, HEX = 2, UTF8 = 3;
        private final Shape.Str shape;
        private final int phase;
        private final int count;   // code points so far
        private final int need;    // HEX: hex digits left; UTF8: continuation bytes left
        private final int lo, hi;  // UTF8: the range of the next byte

        Str(Shape.Str shape, int phase, int count, int need, int lo, int hi) {
            this.shape = shape;
            this.phase = phase;
            this.count = count;
            this.need = need;
            this.lo = lo;
            this.hi = hi;
        }

        @Override
        int cost() {
            int min = shape.minLength;
            return switch (phase) {
                case BODY -> 1 + Math.max(0, min - count);
                case ESCAPE -> 2 + Math.max(0, min - count - 1);
                case HEX -> need + 1 + Math.max(0, min - count - 1);
                default -> need + 1 + Math.max(0, min - count);
            };
        }

        @Override
        boolean canEnd() {
            return false;
        }

        private Config body(int count, Config below) {
            return push(new Str(shape, BODY, count, 0, 0, 0), below);
        }

        @Override
        void step(int b, Config below, Out out) {
            boolean room = count < shape.maxLength;
            switch (phase) {
                case BODY -> {
                    if (b == '"') {
                        if (count >= shape.minLength) {
                            out.add(below);
                        }
                    } else if (!room || b < 0x20) {
                        return;
                    } else if (b == '\\') {
                        out.add(push(new Str(shape, ESCAPE, count, 0, 0, 0), below));
                    } else if (b < 0x80) {
                        out.add(body(count + 1, below));
                    } else if (b >= 0xC2 && b <= 0xDF) {
                        out.add(push(new Str(shape, UTF8, count + 1, 1, 0x80, 0xBF), below));
                    } else if (b >= 0xE0 && b <= 0xEF) {
                        int l = b == 0xE0 ? 0xA0 : 0x80, h = b == 0xED ? 0x9F : 0xBF;   // no overlong forms, no surrogates
                        out.add(push(new Str(shape, UTF8, count + 1, 2, l, h), below));
                    } else if (b >= 0xF0 && b <= 0xF4) {
                        int l = b == 0xF0 ? 0x90 : 0x80, h = b == 0xF4 ? 0x8F : 0xBF;   // nothing above U+10FFFF
                        out.add(push(new Str(shape, UTF8, count + 1, 3, l, h), below));
                    }
                }
                case ESCAPE -> {
                    if (b == '"' || b == '\\' || b == '/' || b == 'b' || b == 'f' || b == 'n' || b == 'r' || b == 't') {
                        out.add(body(count + 1, below));
                    } else if (b == 'u') {
                        out.add(push(new Str(shape, HEX, count, 4, 0, 0), below));
                    }
                }
                case HEX -> {
                    int d = hexDigit(b);
                    // lo: the escape so far starts with D; then a second digit 8-F would make a surrogate half,
                    // which may come alone and which a reader may reject: not written (U+D000-U+D7FF are fine)
                    if (d < 0 || (need == 3 && lo == 1 && d >= 8)) {
                        return;
                    }
                    out.add(need == 1 ? body(count + 1, below)
                            : push(new Str(shape, HEX, count, need - 1, need == 4 && d == 0xD ? 1 : 0, 0), below));
                }
                default -> {
                    if (b >= lo && b <= hi) {
                        out.add(need == 1 ? body(count, below) : push(new Str(shape, UTF8, count, need - 1, 0x80, 0xBF), below));
                    }
                }
            }
        }
    }

    /**
     * A string's body under a pattern: each code point (raw ASCII, a UTF-8 sequence, or an escape)
     * advances the pattern's NFA; a partial code point is allowed only while some code point it can still
     * become is one the NFA takes next, so the walk never strands inside a character.
     */
    static final class PatternStr extends Frame {
        static final int BODY = 0, ESCAPE = 1, HEX = 2, UTF8 = 3;
        private final JsonRegex rx;
        private final int state;     // the pattern's DFA state
        private final int phase;
        private final int need;      // HEX: digits left; UTF8: continuation bytes left
        private final int partial;   // the code point's bits so far
        private final int lo, hi;    // UTF8: the range of the next byte

        PatternStr(JsonRegex rx, int state, int phase, int need, int partial, int lo, int hi) {
            this.rx = rx;
            this.state = state;
            this.phase = phase;
            this.need = need;
            this.partial = partial;
            this.lo = lo;
            this.hi = hi;
        }

        /** The code points a partial one can still become. */
        private int[] range() {
            if (phase == HEX) {
                int hi = ((partial + 1) << 4 * need) - 1;
                return new int[]{partial << 4 * need, need == 3 && partial == 0xD ? 0xD7FF : hi};   // no surrogate halves
            }
            // UTF-8: the shortest form only (a lead byte's bits alone would admit overlong encodings of ASCII)
            int floor = need == 1 ? 0x80 : need == 2 ? 0x800 : 0x10000;
            return new int[]{Math.max(floor, partial << 6 * need), Math.min(0x10FFFF, ((partial + 1) << 6 * need) - 1)};
        }

        @Override
        int cost() {
            return switch (phase) {
                case BODY -> Shape.add(1, rx.cost(state));
                case ESCAPE -> {
                    int m = Shape.add(5, rx.costVia(state, 0, 0xD7FF));   // backslash-u and 4 hex digits: any code point below the surrogates
                    m = Math.min(m, Shape.add(5, rx.costVia(state, 0xE000, 0xFFFF)));
                    for (int c : new int[]{'"', '\\', '/', '\b', '\f', '\n', '\r', '\t'}) {
                        m = Math.min(m, Shape.add(1, rx.costVia(state, c, c)));
                    }
                    yield Shape.add(m, 1);
                }
                default -> {
                    int[] r = range();
                    yield Shape.add(need + 1, rx.costVia(state, r[0], r[1]));
                }
            };
        }

        @Override
        boolean canEnd() {
            return false;
        }

        private void take(int cp, Config below, Out out) {
            int next = rx.step(state, cp);
            if (next >= 0) {
                out.add(push(new PatternStr(rx, next, BODY, 0, 0, 0, 0), below));
            }
        }

        private void partial(int phase, int need, int partial, int lo, int hi, Config below, Out out) {
            PatternStr p = new PatternStr(rx, state, phase, need, partial, lo, hi);
            int[] r = p.range();
            if (rx.costVia(state, r[0], r[1]) < Shape.NEVER) {
                out.add(push(p, below));
            }
        }

        @Override
        void step(int b, Config below, Out out) {
            switch (phase) {
                case BODY -> {
                    if (b == '"') {
                        if (rx.accepts(state)) {
                            out.add(below);
                        }
                    } else if (b == '\\') {
                        if (rx.costVia(state, 0, 0xFFFF) < Shape.NEVER) {
                            out.add(push(new PatternStr(rx, state, ESCAPE, 0, 0, 0, 0), below));
                        }
                    } else if (b < 0x20) {
                        return;
                    } else if (b < 0x80) {
                        take(b, below, out);
                    } else if (b >= 0xC2 && b <= 0xDF) {
                        partial(UTF8, 1, b & 0x1F, 0x80, 0xBF, below, out);
                    } else if (b >= 0xE0 && b <= 0xEF) {
                        partial(UTF8, 2, b & 0x0F, b == 0xE0 ? 0xA0 : 0x80, b == 0xED ? 0x9F : 0xBF, below, out);
                    } else if (b >= 0xF0 && b <= 0xF4) {
                        partial(UTF8, 3, b & 0x07, b == 0xF0 ? 0x90 : 0x80, b == 0xF4 ? 0x8F : 0xBF, below, out);
                    }
                }
                case ESCAPE -> {
                    int cp = switch (b) {
                        case '"' -> '"';
                        case '\\' -> '\\';
                        case '/' -> '/';
                        case 'b' -> '\b';
                        case 'f' -> '\f';
                        case 'n' -> '\n';
                        case 'r' -> '\r';
                        case 't' -> '\t';
                        default -> -1;
                    };
                    if (cp >= 0) {
                        take(cp, below, out);
                    } else if (b == 'u') {
                        partial(HEX, 4, 0, 0, 0, below, out);
                    }
                }
                case HEX -> {
                    int d = hexDigit(b);
                    if (d < 0 || (need == 3 && partial == 0xD && d >= 8)) {
                        return;   // a surrogate half may come alone, which a reader may reject; not written
                    }
                    int v = partial << 4 | d;
                    if (need == 1) {
                        take(v, below, out);
                    } else {
                        partial(HEX, need - 1, v, 0, 0, below, out);
                    }
                }
                default -> {
                    if (b >= lo && b <= hi) {
                        int v = partial << 6 | (b & 0x3F);
                        if (need == 1) {
                            take(v, below, out);
                        } else {
                            partial(UTF8, need - 1, v, 0x80, 0xBF, below, out);
                        }
                    }
                }
            }
        }
    }
}
