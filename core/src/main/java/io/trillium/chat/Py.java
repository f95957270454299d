package io.trillium.chat;

import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Python value semantics for the template interpreter. Values are String, Long, Double, Boolean,
 * null (None), {@link Undefined}, List (list/tuple), LinkedHashMap (dict), {@link Namespace} and
 * callables. The reference renderings come from Python, so str(), repr(), ==, truthiness and
 * json.dumps must behave exactly like CPython's.
 */
final class Py {
    private Py() {
    }

    /** Jinja's default Undefined: empty, falsy, iterable; any attribute access on it fails. */
    record Undefined(String hint) {
        @Override
        public String toString() {
            return "";
        }
    }

    /** Result of {@code namespace(...)}: the only object {@code {% set ns.x = ... %}} may assign to. */
    static final class Namespace {
        final Map<String, Object> attrs = new LinkedHashMap<>();
    }

    /** A Python tuple: a list that prints with parentheses (pairs from items(), tuple literals). */
    static final class Tuple extends ArrayList<Object> {
        Tuple(Collection<?> items) {
            super(items);
        }

        static Tuple of(Object... items) {
            return new Tuple(java.util.Arrays.asList(items));
        }
    }

    /** Anything callable from a template: globals, bound methods, macros. */
    @FunctionalInterface
    interface Fn {
        Object call(List<Object> args, Map<String, Object> kwargs);
    }

    static final class TypeError extends RuntimeException {
        TypeError(String message) {
            super(message);
        }
    }

    static boolean truthy(Object v) {
        return switch (v) {
            case null -> false;
            case Undefined u -> false;
            case Boolean b -> b;
            case String s -> !s.isEmpty();
            case Long l -> l != 0;
            case Double d -> d != 0.0;
            case Collection<?> c -> !c.isEmpty();
            case Map<?, ?> m -> !m.isEmpty();
            default -> true;
        };
    }

    static String typeName(Object v) {
        return switch (v) {
            case null -> "NoneType";
            case Undefined u -> "Undefined";
            case Boolean b -> "bool";
            case String s -> "str";
            case Long l -> "int";
            case Double d -> "float";
            case Tuple t -> "tuple";
            case List<?> l -> "list";
            case Map<?, ?> m -> "dict";
            case Namespace n -> "Namespace";
            default -> v.getClass().getSimpleName();
        };
    }

    // ---- str() and repr()

    static String str(Object v) {
        return switch (v) {
            case null -> "None";
            case Undefined u -> "";
            case String s -> s;
            case Boolean b -> b ? "True" : "False";
            case Long l -> l.toString();
            case Double d -> floatRepr(d);
            case List<?> l -> repr(l);
            case Map<?, ?> m -> repr(m);
            case Namespace n -> "<Namespace " + repr(n.attrs) + ">";
            default -> v.toString();
        };
    }

    static String repr(Object v) {
        if (v instanceof String s) {
            return stringRepr(s);
        }
        if (v instanceof List<?> l) {
            boolean tuple = v instanceof Tuple;
            StringBuilder sb = new StringBuilder(tuple ? "(" : "[");
            for (int i = 0; i < l.size(); i++) {
                sb.append(i > 0 ? ", " : "").append(repr(l.get(i)));
            }
            return sb.append(tuple ? (l.size() == 1 ? ",)" : ")") : "]").toString();
        }
        if (v instanceof Map<?, ?> m) {
            StringBuilder sb = new StringBuilder("{");
            boolean first = true;
            for (Map.Entry<?, ?> e : m.entrySet()) {
                sb.append(first ? "" : ", ").append(repr(e.getKey())).append(": ").append(repr(e.getValue()));
                first = false;
            }
            return sb.append('}').toString();
        }
        return str(v);
    }

    private static String stringRepr(String s) {
        char q = s.indexOf('\'') >= 0 && s.indexOf('"') < 0 ? '"' : '\'';
        StringBuilder sb = new StringBuilder().append(q);
        s.codePoints().forEach(c -> {
            if (c == q || c == '\\') {
                sb.append('\\').appendCodePoint(c);
            } else if (c == '\n') {
                sb.append("\\n");
            } else if (c == '\r') {
                sb.append("\\r");
            } else if (c == '\t') {
                sb.append("\\t");
            } else if (c < 0x20 || c == 0x7f) {
                sb.append(String.format("\\x%02x", c));
            } else {
                sb.appendCodePoint(c);
            }
        });
        return sb.append(q).toString();
    }

    /** CPython's float repr: shortest round-trip digits, exponent form below 1e-4 and from 1e16. */
    static String floatRepr(double d) {
        if (Double.isNaN(d)) {
            return "nan";
        }
        if (Double.isInfinite(d)) {
            return d > 0 ? "inf" : "-inf";
        }
        if (d == 0) {
            return (1 / d < 0) ? "-0.0" : "0.0";
        }
        // Double.toString gives the shortest uniquely-distinguishing digits (JDK 19+); reformat them.
        BigDecimal bd = new BigDecimal(Double.toString(Math.abs(d))).stripTrailingZeros();
        String digits = bd.unscaledValue().toString();
        int n = digits.length();
        int exp = n - 1 - bd.scale();
        StringBuilder sb = new StringBuilder(d < 0 ? "-" : "");
        if (exp >= -4 && exp < 16) {
            if (exp >= n - 1) {
                sb.append(digits).append("0".repeat(exp - (n - 1))).append(".0");
            } else if (exp >= 0) {
                sb.append(digits, 0, exp + 1).append('.').append(digits, exp + 1, n);
            } else {
                sb.append("0.").append("0".repeat(-exp - 1)).append(digits);
            }
        } else {
            sb.append(digits.charAt(0));
            if (n > 1) {
                sb.append('.').append(digits, 1, n);
            }
            sb.append('e').append(exp < 0 ? '-' : '+').append(String.format("%02d", Math.abs(exp)));
        }
        return sb.toString();
    }

    // ---- comparison and arithmetic

    static boolean eq(Object a, Object b) {
        if (a == b) {
            return true;
        }
        if (a instanceof Undefined || b instanceof Undefined) {
            return a instanceof Undefined && b instanceof Undefined;
        }
        if (isNumber(a) && isNumber(b)) {
            return a instanceof Long x && b instanceof Long y ? x.equals(y) : toDouble(a) == toDouble(b);
        }
        if (a instanceof List<?> x && b instanceof List<?> y) {
            if (x.size() != y.size()) {
                return false;
            }
            for (int i = 0; i < x.size(); i++) {
                if (!eq(x.get(i), y.get(i))) {
                    return false;
                }
            }
            return true;
        }
        if (a instanceof Map<?, ?> x && b instanceof Map<?, ?> y) {
            if (x.size() != y.size()) {
                return false;
            }
            for (Map.Entry<?, ?> e : x.entrySet()) {
                if (!y.containsKey(e.getKey()) || !eq(e.getValue(), y.get(e.getKey()))) {
                    return false;
                }
            }
            return true;
        }
        return a != null && a.equals(b);
    }

    /** Python's ordering; True/False count as 1/0. */
    static int compare(Object a, Object b) {
        if (isNumber(a) && isNumber(b)) {
            return a instanceof Long x && b instanceof Long y ? Long.compare(x, y)
                    : Double.compare(toDouble(a), toDouble(b));
        }
        if (a instanceof String x && b instanceof String y) {
            return x.compareTo(y);
        }
        if (a instanceof List<?> x && b instanceof List<?> y) {
            for (int i = 0; i < Math.min(x.size(), y.size()); i++) {
                if (!eq(x.get(i), y.get(i))) {
                    return compare(x.get(i), y.get(i));
                }
            }
            return Integer.compare(x.size(), y.size());
        }
        throw new TypeError("'<' not supported between instances of '" + typeName(a) + "' and '" + typeName(b) + "'");
    }

    static boolean isNumber(Object v) {
        return v instanceof Long || v instanceof Double || v instanceof Boolean;
    }

    static boolean isInteger(Object v) {
        return v instanceof Long || v instanceof Boolean;
    }

    static double toDouble(Object v) {
        return v instanceof Boolean b ? (b ? 1 : 0) : ((Number) v).doubleValue();
    }

    static long toLong(Object v) {
        if (v instanceof Boolean b) {
            return b ? 1 : 0;
        }
        if (v instanceof Long l) {
            return l;
        }
        throw new TypeError("an integer is required, got '" + typeName(v) + "'");
    }

    static boolean contains(Object container, Object item) {
        return switch (container) {
            case String s when item instanceof String t -> s.contains(t);
            case String s -> throw new TypeError("'in <string>' requires string as left operand, not " + typeName(item));
            case Map<?, ?> m -> m.containsKey(item);
            case Undefined u -> false;
            case Iterable<?> it -> {
                for (Object o : it) {
                    if (eq(o, item)) {
                        yield true;
                    }
                }
                yield false;
            }
            default -> throw new TypeError("argument of type '" + typeName(container) + "' is not iterable");
        };
    }

    static int len(Object v) {
        return switch (v) {
            case String s -> s.codePointCount(0, s.length());
            case Collection<?> c -> c.size();
            case Map<?, ?> m -> m.size();
            case Undefined u -> 0;
            case Namespace n -> throw new TypeError("object of type 'Namespace' has no len()");
            default -> throw new TypeError("object of type '" + typeName(v) + "' has no len()");
        };
    }

    /** What a for loop iterates: list items, dict keys, string characters; Undefined is empty. */
    static List<Object> iterate(Object v) {
        return switch (v) {
            case Undefined u -> List.of();
            case List<?> l -> new ArrayList<>(l);
            case Map<?, ?> m -> new ArrayList<>(m.keySet());
            case String s -> new ArrayList<>(s.codePoints().mapToObj(Character::toString).toList());
            case Iterable<?> it -> {
                List<Object> out = new ArrayList<>();
                it.forEach(out::add);
                yield out;
            }
            default -> throw new TypeError("'" + typeName(v) + "' object is not iterable");
        };
    }

    // ---- strings

    static boolean isSpace(int c) {
        return Character.isWhitespace(c) || Character.isSpaceChar(c);
    }

    /** str.strip / lstrip / rstrip; chars null strips whitespace. */
    static String strip(String s, String chars, boolean left, boolean right) {
        int[] cps = s.codePoints().toArray();
        int from = 0;
        int to = cps.length;
        while (left && from < to && stripped(cps[from], chars)) {
            from++;
        }
        while (right && to > from && stripped(cps[to - 1], chars)) {
            to--;
        }
        return new String(cps, from, to - from);
    }

    private static boolean stripped(int c, String chars) {
        return chars == null ? isSpace(c) : chars.indexOf(Character.toString(c)) >= 0;
    }

    /** str.split(sep=None, maxsplit=-1). */
    static List<Object> split(String s, String sep, long maxsplit) {
        List<Object> out = new ArrayList<>();
        if (sep == null) {
            int i = 0;
            int n = s.length();
            while (true) {
                while (i < n && isSpace(s.charAt(i))) {
                    i++;
                }
                if (i >= n) {
                    break;
                }
                if (maxsplit >= 0 && out.size() == maxsplit) {
                    out.add(s.substring(i));  // Python keeps the remainder's trailing whitespace
                    break;
                }
                int j = i;
                while (j < n && !isSpace(s.charAt(j))) {
                    j++;
                }
                out.add(s.substring(i, j));
                i = j;
            }
            return out;
        }
        if (sep.isEmpty()) {
            throw new TypeError("empty separator");
        }
        int start = 0;
        int at;
        while ((maxsplit < 0 || out.size() < maxsplit) && (at = s.indexOf(sep, start)) >= 0) {
            out.add(s.substring(start, at));
            start = at + sep.length();
        }
        out.add(s.substring(start));
        return out;
    }

    /** Python slicing of a list or string (by code point). */
    static Object slice(Object v, Object start, Object stop, Object step) {
        List<Object> items;
        if (v instanceof String s) {
            items = iterate(s);
        } else if (v instanceof List<?> l) {
            items = new ArrayList<>(l);
        } else {
            throw new TypeError("'" + typeName(v) + "' object is not subscriptable");
        }
        int n = items.size();
        long st = step == null ? 1 : toLong(step);
        if (st == 0) {
            throw new TypeError("slice step cannot be zero");
        }
        long lo;
        long hi;
        if (st > 0) {
            lo = start == null ? 0 : clampIndex(toLong(start), n, 0, n);
            hi = stop == null ? n : clampIndex(toLong(stop), n, 0, n);
        } else {
            lo = start == null ? n - 1 : clampIndex(toLong(start), n, -1, n - 1);
            hi = stop == null ? -1 : clampIndex(toLong(stop), n, -1, n - 1);
        }
        List<Object> out = new ArrayList<>();
        for (long i = lo; st > 0 ? i < hi : i > hi; i += st) {
            out.add(items.get((int) i));
        }
        if (v instanceof String) {
            StringBuilder sb = new StringBuilder();
            out.forEach(o -> sb.append((String) o));
            return sb.toString();
        }
        return out;
    }

    private static long clampIndex(long i, int n, long min, long max) {
        if (i < 0) {
            i += n;
        }
        return Math.max(min, Math.min(max, i));
    }

    // ---- json.dumps

    /** Python json.dumps(v, indent, separators, sort_keys, ensure_ascii); indent null = one line. */
    static String json(Object v, String indent, String itemSep, String keySep, boolean sortKeys, boolean ensureAscii) {
        StringBuilder sb = new StringBuilder();
        new Json(indent, itemSep, keySep, sortKeys, ensureAscii, sb).write(v, 0);
        return sb.toString();
    }

    private record Json(String indent, String itemSep, String keySep, boolean sortKeys, boolean ensureAscii,
                        StringBuilder sb) {
        void write(Object v, int depth) {
            switch (v) {
                case null -> sb.append("null");
                case Boolean b -> sb.append(b ? "true" : "false");
                case Long l -> sb.append(l);
                case Double d -> sb.append(Double.isNaN(d) ? "NaN" : Double.isInfinite(d)
                        ? (d > 0 ? "Infinity" : "-Infinity") : floatRepr(d));
                case String s -> string(s);
                case List<?> l -> {
                    if (l.isEmpty()) {
                        sb.append("[]");
                        return;
                    }
                    sb.append('[');
                    for (int i = 0; i < l.size(); i++) {
                        sb.append(i > 0 ? itemSep : "");
                        newline(depth + 1);
                        write(l.get(i), depth + 1);
                    }
                    newline(depth);
                    sb.append(']');
                }
                case Map<?, ?> m -> {
                    if (m.isEmpty()) {
                        sb.append("{}");
                        return;
                    }
                    List<Map.Entry<String, Object>> entries = new ArrayList<>();
                    for (Map.Entry<?, ?> e : m.entrySet()) {
                        entries.add(Map.entry(key(e.getKey()), e.getValue() == null ? NULL : e.getValue()));
                    }
                    if (sortKeys) {
                        entries.sort(Map.Entry.comparingByKey());
                    }
                    sb.append('{');
                    boolean first = true;
                    for (Map.Entry<String, Object> e : entries) {
                        sb.append(first ? "" : itemSep);
                        first = false;
                        newline(depth + 1);
                        string(e.getKey());
                        sb.append(keySep);
                        write(e.getValue() == NULL ? null : e.getValue(), depth + 1);
                    }
                    newline(depth);
                    sb.append('}');
                }
                default -> throw new TypeError("Object of type " + typeName(v) + " is not JSON serializable");
            }
        }

        private static final Object NULL = new Object();

        private static String key(Object k) {
            return switch (k) {
                case String s -> s;
                case null -> "null";
                case Boolean b -> b ? "true" : "false";
                case Long l -> l.toString();
                case Double d -> floatRepr(d);
                default -> throw new TypeError("keys must be str, int, float, bool or None, not " + typeName(k));
            };
        }

        private void newline(int depth) {
            if (indent != null) {
                sb.append('\n').append(indent.repeat(depth));
            }
        }

        private void string(String s) {
            sb.append('"');
            for (int i = 0; i < s.length(); i++) {
                char c = s.charAt(i);
                switch (c) {
                    case '"' -> sb.append("\\\"");
                    case '\\' -> sb.append("\\\\");
                    case '\n' -> sb.append("\\n");
                    case '\r' -> sb.append("\\r");
                    case '\t' -> sb.append("\\t");
                    case '\b' -> sb.append("\\b");
                    case '\f' -> sb.append("\\f");
                    default -> {
                        if (c < 0x20 || (ensureAscii && c > 0x7e)) {
                            sb.append(String.format("\\u%04x", (int) c));
                        } else {
                            sb.append(c);
                        }
                    }
                }
            }
            sb.append('"');
        }
    }

    /** Deep copy of caller data into template values: ints become Long, maps LinkedHashMap, lists ArrayList. */
    static Object fromJava(Object v) {
        return switch (v) {
            case null -> null;
            case String s -> s;
            case Boolean b -> b;
            case Long l -> l;
            case Integer i -> (long) i;
            case Short s -> (long) s;
            case Byte b -> (long) b;
            case Double d -> d;
            case Float f -> (double) f;
            case java.math.BigInteger b -> b.bitLength() < 64 ? (Object) b.longValue() : (Object) b.doubleValue();
            case BigDecimal b -> b.doubleValue();
            case Character c -> c.toString();
            case Message m -> fromJava(m.toMap());
            case ToolCall t -> fromJava(t.toMap());
            case com.fasterxml.jackson.databind.JsonNode n -> fromJava(Message.JSON.convertValue(n, Object.class));
            case Map<?, ?> m -> {
                Map<String, Object> out = new LinkedHashMap<>();
                m.forEach((k, val) -> out.put(String.valueOf(k), fromJava(val)));
                yield out;
            }
            case Iterable<?> it -> {
                List<Object> out = new ArrayList<>();
                for (Iterator<?> i = it.iterator(); i.hasNext(); ) {
                    out.add(fromJava(i.next()));
                }
                yield out;
            }
            case Object[] a -> fromJava(java.util.Arrays.asList(a));
            default -> v;  // callables, namespaces and Undefined pass through
        };
    }
}
