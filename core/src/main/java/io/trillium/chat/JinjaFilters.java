package io.trillium.chat;

import io.trillium.chat.Py.Fn;
import io.trillium.chat.Py.TypeError;
import io.trillium.chat.Py.Undefined;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import static io.trillium.chat.JinjaInterpreter.add;
import static io.trillium.chat.JinjaInterpreter.arg;
import static io.trillium.chat.JinjaInterpreter.getattr;
import static io.trillium.chat.JinjaInterpreter.number;
import static io.trillium.chat.JinjaInterpreter.operand;

/**
 * Jinja's built-in filters ({@code value | name}) and tests ({@code value is name}), applied to values
 * {@link JinjaInterpreter} has already evaluated. Apart from the evaluator because they need no scope or
 * AST; the tests live here too because the select and reject filters apply them.
 */
final class JinjaFilters {
    private JinjaFilters() {
    }

    // ---- filters

    static Object filter(String name, Object v, List<Object> args, Map<String, Object> kw) {
        switch (name) {
            case "tojson" -> {
                // transformers' signature: tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False)
                Object indent = arg(args, kw, 1, "indent", null);
                Object seps = arg(args, kw, 2, "separators", null);
                String itemSep = indent == null ? ", " : ",";
                String keySep = ": ";
                if (seps instanceof List<?> l && l.size() == 2) {
                    itemSep = Py.str(l.get(0));
                    keySep = Py.str(l.get(1));
                }
                String ind = indent == null ? null : indent instanceof String s ? s : " ".repeat((int) Py.toLong(indent));
                return Py.json(v, ind, itemSep, keySep, Py.truthy(arg(args, kw, 3, "sort_keys", false)),
                        Py.truthy(arg(args, kw, 0, "ensure_ascii", false)));
            }
            case "safe", "list" -> {
                return name.equals("safe") ? v : Py.iterate(operand(v));
            }
            case "string" -> {
                return Py.str(v);
            }
            case "trim" -> {
                Object chars = arg(args, kw, 0, "chars", null);
                return Py.strip(Py.str(v), chars == null ? null : Py.str(chars), true, true);
            }
            case "length", "count" -> {
                return (long) Py.len(v);
            }
            case "items" -> {
                if (v instanceof Undefined) {
                    return List.of();
                }
                if (!(v instanceof Map<?, ?> m)) {
                    throw new TypeError("can only get item pairs from a mapping, not " + Py.typeName(v));
                }
                List<Object> out = new ArrayList<>();
                m.forEach((k, x) -> out.add(Py.Tuple.of(k, x)));
                return out;
            }
            case "join" -> {
                String sep = Py.str(arg(args, kw, 0, "d", ""));
                Object attr = arg(args, kw, 1, "attribute", null);
                StringBuilder sb = new StringBuilder();
                boolean first = true;
                for (Object x : Py.iterate(v)) {
                    sb.append(first ? "" : sep).append(Py.str(attr == null ? x : getattr(x, Py.str(attr))));
                    first = false;
                }
                return sb.toString();
            }
            case "default", "d" -> {
                Object otherwise = arg(args, kw, 0, "default_value", "");
                boolean bool = Py.truthy(arg(args, kw, 1, "boolean", false));
                return v instanceof Undefined || (bool && !Py.truthy(v)) ? otherwise : v;
            }
            case "first", "last" -> {
                List<Object> items = Py.iterate(operand(v));
                return items.isEmpty() ? new Undefined("no " + name + " item, sequence was empty")
                        : items.get(name.equals("first") ? 0 : items.size() - 1);
            }
            case "lower", "upper", "capitalize", "title" -> {
                return PyMethods.call(Py.str(v), name);
            }
            case "replace" -> {
                Fn m = PyMethods.string(Py.str(v), "replace");
                return m.call(args, kw);
            }
            case "reverse" -> {
                if (v instanceof String s) {
                    return new StringBuilder(s).reverse().toString();
                }
                List<Object> items = Py.iterate(operand(v));
                java.util.Collections.reverse(items);
                return items;
            }
            case "sort" -> {
                boolean reverse = Py.truthy(arg(args, kw, 0, "reverse", false));
                boolean caseSensitive = Py.truthy(arg(args, kw, 1, "case_sensitive", false));
                Object attr = arg(args, kw, 2, "attribute", null);
                List<Object> items = Py.iterate(operand(v));
                Comparator<Object> cmp = (a, b) -> {
                    Object x = attr == null ? a : getattr(a, Py.str(attr));
                    Object y = attr == null ? b : getattr(b, Py.str(attr));
                    if (!caseSensitive && x instanceof String s && y instanceof String t) {
                        return s.toLowerCase(Locale.ROOT).compareTo(t.toLowerCase(Locale.ROOT));
                    }
                    return Py.compare(x, y);
                };
                items.sort(reverse ? cmp.reversed() : cmp);
                return items;
            }
            case "unique" -> {
                List<Object> out = new ArrayList<>();
                for (Object x : Py.iterate(operand(v))) {
                    if (out.stream().noneMatch(y -> Py.eq(x, y))) {
                        out.add(x);
                    }
                }
                return out;
            }
            case "int" -> {
                Object otherwise = arg(args, kw, 0, "default", 0L);
                try {
                    return v instanceof String s ? (Object) Long.parseLong(s.strip())
                            : Py.isNumber(v) ? (Object) (long) Py.toDouble(v) : otherwise;
                } catch (NumberFormatException e) {
                    try {
                        return (long) Double.parseDouble(((String) v).strip());
                    } catch (NumberFormatException e2) {
                        return otherwise;
                    }
                }
            }
            case "float" -> {
                Object otherwise = arg(args, kw, 0, "default", 0.0);
                try {
                    return v instanceof String s ? (Object) Double.parseDouble(s.strip())
                            : Py.isNumber(v) ? (Object) Py.toDouble(v) : otherwise;
                } catch (NumberFormatException e) {
                    return otherwise;
                }
            }
            case "abs" -> {
                return v instanceof Double d ? (Object) Math.abs(d) : (Object) Math.abs(Py.toLong(number(v)));
            }
            case "map" -> {
                List<Object> out = new ArrayList<>();
                Object attr = kw.get("attribute");
                for (Object x : Py.iterate(operand(v))) {
                    if (attr != null) {
                        Object got = getattr(x, Py.str(attr));
                        out.add(got instanceof Undefined && kw.containsKey("default") ? kw.get("default") : got);
                    } else {
                        out.add(filter(Py.str(arg(args, 0, "filter")), x, args.subList(1, args.size()), Map.of()));
                    }
                }
                return out;
            }
            case "select", "reject" -> {
                List<Object> out = new ArrayList<>();
                for (Object x : Py.iterate(operand(v))) {
                    boolean ok = args.isEmpty() ? Py.truthy(x)
                            : test(Py.str(args.get(0)), x, args.subList(1, args.size()));
                    if (ok == name.equals("select")) {
                        out.add(x);
                    }
                }
                return out;
            }
            case "selectattr", "rejectattr" -> {
                List<Object> out = new ArrayList<>();
                String attr = Py.str(arg(args, 0, "attribute"));
                for (Object x : Py.iterate(operand(v))) {
                    Object a = getattr(x, attr);
                    boolean ok = args.size() < 2 ? Py.truthy(a)
                            : test(Py.str(args.get(1)), a, args.subList(2, args.size()));
                    if (ok == name.equals("selectattr")) {
                        out.add(x);
                    }
                }
                return out;
            }
            case "dictsort" -> {
                if (!(v instanceof Map<?, ?> m)) {
                    throw new TypeError("dictsort needs a mapping, not " + Py.typeName(v));
                }
                boolean byValue = "value".equals(arg(args, kw, 1, "by", "key"));
                List<Object> out = new ArrayList<>();
                m.forEach((k, x) -> out.add(Py.Tuple.of(k, x)));
                out.sort((a, b) -> Py.compare(((List<?>) a).get(byValue ? 1 : 0), ((List<?>) b).get(byValue ? 1 : 0)));
                return out;
            }
            case "min", "max", "sum" -> {
                List<Object> items = Py.iterate(operand(v));
                if (name.equals("sum")) {
                    Object total = arg(args, kw, 1, "start", 0L);
                    for (Object x : items) {
                        total = add(total, x);
                    }
                    return total;
                }
                if (items.isEmpty()) {
                    return new Undefined("no " + name + " item, sequence was empty");
                }
                Object best = items.get(0);
                for (Object x : items) {
                    int c = Py.compare(x, best);
                    best = name.equals("min") ? (c < 0 ? x : best) : (c > 0 ? x : best);
                }
                return best;
            }
            case "indent" -> {
                Object w = arg(args, kw, 0, "width", 4L);
                String pad = w instanceof String s ? s : " ".repeat((int) Py.toLong(w));
                boolean first = Py.truthy(arg(args, kw, 1, "first", false));
                boolean blank = Py.truthy(arg(args, kw, 2, "blank", false));
                String s = Py.str(v);
                String[] lines = s.split("\n", -1);
                StringBuilder sb = new StringBuilder();
                for (int i = 0; i < lines.length; i++) {
                    boolean indent = (i > 0 || first) && (blank || !lines[i].isBlank());
                    sb.append(i > 0 ? "\n" : "").append(indent ? pad : "").append(lines[i]);
                }
                return sb.toString();
            }
            case "escape", "e" -> {
                return Py.str(v).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
                        .replace("\"", "&#34;").replace("'", "&#39;");
            }
            case "attr" -> {
                return getattr(v, Py.str(arg(args, 0, "name")));
            }
            default -> throw new TypeError("no filter named '" + name + "'");
        }
    }

    // ---- tests

    static boolean test(String name, Object v, List<Object> args) {
        return switch (name) {
            case "defined" -> !(v instanceof Undefined);
            case "undefined" -> v instanceof Undefined;
            case "none" -> v == null;
            case "boolean" -> v instanceof Boolean;
            case "true" -> Boolean.TRUE.equals(v);
            case "false" -> Boolean.FALSE.equals(v);
            case "integer" -> v instanceof Long;
            case "float" -> v instanceof Double;
            case "number" -> Py.isNumber(v);
            case "string" -> v instanceof String;
            case "mapping" -> v instanceof Map;
            // Python: anything with len() and [] (str, list, dict); iterable: anything iter() accepts.
            case "sequence" -> v instanceof String || v instanceof List || v instanceof Map;
            case "iterable" -> v instanceof String || v instanceof List || v instanceof Map || v instanceof Undefined;
            case "callable" -> v instanceof Fn;
            case "sameas" -> v == arg(args, 0, "other") || (v instanceof Boolean && v.equals(args.get(0)));
            case "equalto", "eq", "==" -> Py.eq(v, arg(args, 0, "other"));
            case "ne", "!=" -> !Py.eq(v, arg(args, 0, "other"));
            case "lt", "lessthan", "<" -> Py.compare(v, arg(args, 0, "other")) < 0;
            case "le", "<=" -> Py.compare(v, arg(args, 0, "other")) <= 0;
            case "gt", "greaterthan", ">" -> Py.compare(v, arg(args, 0, "other")) > 0;
            case "ge", ">=" -> Py.compare(v, arg(args, 0, "other")) >= 0;
            case "in" -> Py.contains(arg(args, 0, "seq"), v);
            case "odd" -> Py.toLong(v) % 2 != 0;
            case "even" -> Py.toLong(v) % 2 == 0;
            case "divisibleby" -> Py.toLong(v) % Py.toLong(arg(args, 0, "num")) == 0;
            case "lower" -> v instanceof String s && s.equals(s.toLowerCase(Locale.ROOT));
            case "upper" -> v instanceof String s && s.equals(s.toUpperCase(Locale.ROOT));
            default -> throw new TypeError("no test named '" + name + "'");
        };
    }
}
