package io.trillium.chat;

import io.trillium.chat.Py.Fn;
import io.trillium.chat.Py.TypeError;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import static io.trillium.chat.JinjaInterpreter.arg;

/**
 * Python methods of str, list and dict that templates call ({@code s.strip()}, {@code d.items()}, ...),
 * looked up by {@link JinjaInterpreter} on attribute access. Apart from the evaluator because they only
 * implement Python's library, not template semantics.
 */
final class PyMethods {
    private PyMethods() {
    }

    static Object call(String s, String name) {
        return string(s, name).call(List.of(), Map.of());
    }

    static Fn string(String s, String name) {
        return switch (name) {
            case "startswith", "endswith" -> (args, kw) -> {
                Object p = arg(args, 0, "prefix");
                List<Object> options = p instanceof List<?> l ? new ArrayList<>(l) : List.of(p);
                for (Object o : options) {
                    if (name.equals("startswith") ? s.startsWith(Py.str(o)) : s.endsWith(Py.str(o))) {
                        return true;
                    }
                }
                return false;
            };
            case "strip", "lstrip", "rstrip" -> (args, kw) -> {
                Object chars = arg(args, kw, 0, "chars", null);
                return Py.strip(s, chars == null ? null : Py.str(chars), !name.equals("rstrip"),
                        !name.equals("lstrip"));
            };
            case "split" -> (args, kw) -> {
                Object sep = arg(args, kw, 0, "sep", null);
                return Py.split(s, sep == null ? null : Py.str(sep), Py.toLong(arg(args, kw, 1, "maxsplit", -1L)));
            };
            case "rsplit" -> (args, kw) -> {
                Object sep = arg(args, kw, 0, "sep", null);
                long max = Py.toLong(arg(args, kw, 1, "maxsplit", -1L));
                if (max < 0 || sep == null) {
                    return Py.split(s, sep == null ? null : Py.str(sep), max);
                }
                // split from the right: reverse, split by the reversed separator, reverse back
                String rs = new StringBuilder(s).reverse().toString();
                List<Object> parts = Py.split(rs, new StringBuilder(Py.str(sep)).reverse().toString(), max);
                List<Object> out = new ArrayList<>();
                for (int i = parts.size() - 1; i >= 0; i--) {
                    out.add(new StringBuilder((String) parts.get(i)).reverse().toString());
                }
                return out;
            };
            case "upper" -> (args, kw) -> s.toUpperCase(Locale.ROOT);
            case "lower" -> (args, kw) -> s.toLowerCase(Locale.ROOT);
            case "capitalize" -> (args, kw) -> s.isEmpty() ? s
                    : s.substring(0, 1).toUpperCase(Locale.ROOT) + s.substring(1).toLowerCase(Locale.ROOT);
            case "title" -> (args, kw) -> {
                StringBuilder sb = new StringBuilder();
                boolean prevLetter = false;
                for (int c : s.codePoints().toArray()) {
                    sb.appendCodePoint(prevLetter ? Character.toLowerCase(c) : Character.toTitleCase(c));
                    prevLetter = Character.isLetter(c);
                }
                return sb.toString();
            };
            case "replace" -> (args, kw) -> {
                String old = Py.str(arg(args, 0, "old"));
                String rep = Py.str(arg(args, 1, "new"));
                long count = Py.toLong(arg(args, kw, 2, "count", -1L));
                if (count < 0) {
                    return s.replace(old, rep);
                }
                StringBuilder sb = new StringBuilder();
                int from = 0;
                for (long i = 0; i < count; i++) {
                    int at = s.indexOf(old, from);
                    if (at < 0 || old.isEmpty()) {
                        break;
                    }
                    sb.append(s, from, at).append(rep);
                    from = at + old.length();
                }
                return sb.append(s.substring(from)).toString();
            };
            case "find" -> (args, kw) -> (long) s.indexOf(Py.str(arg(args, 0, "sub")));
            case "count" -> (args, kw) -> {
                String sub = Py.str(arg(args, 0, "sub"));
                return sub.isEmpty() ? (long) Py.len(s) + 1 : (long) Py.split(s, sub, -1).size() - 1;
            };
            case "join" -> (args, kw) -> {
                StringBuilder sb = new StringBuilder();
                boolean first = true;
                for (Object x : Py.iterate(arg(args, 0, "iterable"))) {
                    if (!(x instanceof String str)) {
                        throw new TypeError("sequence item: expected str instance, " + Py.typeName(x) + " found");
                    }
                    sb.append(first ? "" : s).append(str);
                    first = false;
                }
                return sb.toString();
            };
            case "isdigit" -> (args, kw) -> !s.isEmpty() && s.codePoints().allMatch(Character::isDigit);
            case "isspace" -> (args, kw) -> !s.isEmpty() && s.codePoints().allMatch(Py::isSpace);
            default -> null;
        };
    }

    @SuppressWarnings("unchecked")
    static Fn list(List<?> l, String name) {
        List<Object> list = (List<Object>) l;
        return switch (name) {
            case "append" -> (args, kw) -> {
                list.add(arg(args, 0, "object"));
                return null;
            };
            case "extend" -> (args, kw) -> {
                list.addAll(Py.iterate(arg(args, 0, "iterable")));
                return null;
            };
            case "insert" -> (args, kw) -> {
                long i = Py.toLong(arg(args, 0, "index"));
                i = Math.max(0, Math.min(list.size(), i < 0 ? i + list.size() : i));
                list.add((int) i, arg(args, 1, "object"));
                return null;
            };
            case "pop" -> (args, kw) -> {
                if (list.isEmpty()) {
                    throw new TypeError("pop from empty list");
                }
                long i = args.isEmpty() ? -1 : Py.toLong(args.get(0));
                i = i < 0 ? i + list.size() : i;
                if (i < 0 || i >= list.size()) {
                    throw new TypeError("pop index out of range");
                }
                return list.remove((int) i);
            };
            case "index" -> (args, kw) -> {
                Object x = arg(args, 0, "value");
                for (int i = 0; i < list.size(); i++) {
                    if (Py.eq(list.get(i), x)) {
                        return (long) i;
                    }
                }
                throw new TypeError(Py.repr(x) + " is not in list");
            };
            case "count" -> (args, kw) -> list.stream().filter(x -> Py.eq(x, args.get(0))).count();
            default -> null;
        };
    }

    @SuppressWarnings("unchecked")
    static Fn dict(Map<?, ?> m, String name) {
        Map<Object, Object> map = (Map<Object, Object>) m;
        return switch (name) {
            case "get" -> (args, kw) -> {
                Object k = arg(args, 0, "key");
                return map.containsKey(k) ? map.get(k) : args.size() > 1 ? args.get(1) : null;
            };
            case "items" -> (args, kw) -> {
                List<Object> out = new ArrayList<>();
                map.forEach((k, v) -> out.add(Py.Tuple.of(k, v)));
                return out;
            };
            case "keys" -> (args, kw) -> new ArrayList<>(map.keySet());
            case "values" -> (args, kw) -> new ArrayList<>(map.values());
            case "pop" -> (args, kw) -> {
                Object k = arg(args, 0, "key");
                if (map.containsKey(k)) {
                    return map.remove(k);
                }
                if (args.size() > 1) {
                    return args.get(1);
                }
                throw new TypeError("KeyError: " + Py.repr(k));
            };
            case "update" -> (args, kw) -> {
                if (!args.isEmpty() && args.get(0) instanceof Map<?, ?> src) {
                    map.putAll(src);
                }
                map.putAll(kw);
                return null;
            };
            case "setdefault" -> (args, kw) -> map.computeIfAbsent(arg(args, 0, "key"),
                    k -> args.size() > 1 ? args.get(1) : null);
            case "copy" -> (args, kw) -> new LinkedHashMap<>(map);
            default -> null;
        };
    }
}
