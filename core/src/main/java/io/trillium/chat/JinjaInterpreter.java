package io.trillium.chat;

import io.trillium.chat.Jinja.Assign;
import io.trillium.chat.Jinja.Attr;
import io.trillium.chat.Jinja.Binary;
import io.trillium.chat.Jinja.Break;
import io.trillium.chat.Jinja.Call;
import io.trillium.chat.Jinja.Cond;
import io.trillium.chat.Jinja.Const;
import io.trillium.chat.Jinja.Continue;
import io.trillium.chat.Jinja.DictExpr;
import io.trillium.chat.Jinja.Expr;
import io.trillium.chat.Jinja.Filter;
import io.trillium.chat.Jinja.FilterBlock;
import io.trillium.chat.Jinja.For;
import io.trillium.chat.Jinja.If;
import io.trillium.chat.Jinja.Item;
import io.trillium.chat.Jinja.ListExpr;
import io.trillium.chat.Jinja.MacroDef;
import io.trillium.chat.Jinja.Name;
import io.trillium.chat.Jinja.Node;
import io.trillium.chat.Jinja.Output;
import io.trillium.chat.Jinja.Slice;
import io.trillium.chat.Jinja.Test;
import io.trillium.chat.Jinja.Text;
import io.trillium.chat.Jinja.Unary;
import io.trillium.chat.Py.Fn;
import io.trillium.chat.Py.Namespace;
import io.trillium.chat.Py.TypeError;
import io.trillium.chat.Py.Undefined;

import java.time.LocalDateTime;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** Walks the {@link Jinja} AST with Python value semantics ({@link Py}). One instance per render. */
final class JinjaInterpreter {
    /** Variables of one scope; lookups fall through to the parent (loops and macros open scopes, ifs do not). */
    private static final class Scope {
        final Map<String, Object> vars = new HashMap<>();
        final Scope parent;

        Scope(Scope parent) {
            this.parent = parent;
        }

        Object get(String name) {
            for (Scope s = this; s != null; s = s.parent) {
                if (s.vars.containsKey(name)) {
                    return s.vars.get(name);
                }
            }
            return new Undefined("'" + name + "' is undefined");
        }
    }

    private enum Flow { NORMAL, BREAK, CONTINUE }

    /** Macro nesting limit: a template calling itself forever must fail cleanly, not overflow the stack. */
    private static final int MAX_DEPTH = 200;

    private final LocalDateTime now;
    private int line;
    private int depth;

    JinjaInterpreter(LocalDateTime now) {
        this.now = now;
    }

    String render(List<Node> template, Map<String, Object> variables) {
        Scope root = new Scope(null);
        root.vars.put("range", (Fn) this::range);
        root.vars.put("namespace", (Fn) (args, kw) -> {
            Namespace ns = new Namespace();
            for (Object a : args) {
                if (a instanceof Map<?, ?> m) {
                    m.forEach((k, v) -> ns.attrs.put(String.valueOf(k), v));
                }
            }
            ns.attrs.putAll(kw);
            return ns;
        });
        root.vars.put("dict", (Fn) (args, kw) -> {
            Map<String, Object> m = new LinkedHashMap<>();
            if (!args.isEmpty() && args.get(0) instanceof Map<?, ?> src) {
                src.forEach((k, v) -> m.put(String.valueOf(k), v));
            }
            m.putAll(kw);
            return m;
        });
        root.vars.put("raise_exception", (Fn) (args, kw) -> {
            throw new ChatTemplateException(args.isEmpty() ? "raise_exception called" : Py.str(args.get(0)), true);
        });
        root.vars.put("strftime_now", (Fn) (args, kw) -> Strftime.format(Py.str(arg(args, 0, "format")), now));
        root.vars.putAll(variables);
        StringBuilder out = new StringBuilder();
        try {
            exec(template, root, out);
        } catch (ChatTemplateException e) {
            throw e;
        } catch (TypeError e) {
            throw Jinja.error(line, e.getMessage());
        } catch (RuntimeException e) {
            // anything else the template provoked (a bad cast, an index, a division by zero)
            throw Jinja.error(line, e.toString());
        }
        return out.toString();
    }

    // ---- statements

    private Flow exec(List<Node> nodes, Scope scope, StringBuilder out) {
        for (Node n : nodes) {
            Flow f = exec(n, scope, out);
            if (f != Flow.NORMAL) {
                return f;
            }
        }
        return Flow.NORMAL;
    }

    private Flow exec(Node node, Scope scope, StringBuilder out) {
        switch (node) {
            case Text t -> out.append(t.text());
            case Output o -> {
                line = o.line();
                out.append(Py.str(eval(o.expr(), scope)));
            }
            case If i -> {
                line = i.line();
                for (int k = 0; k < i.conds().size(); k++) {
                    if (Py.truthy(eval(i.conds().get(k), scope))) {
                        return exec(i.bodies().get(k), scope, out);
                    }
                }
                return exec(i.orElse(), scope, out);
            }
            case For f -> {
                return loop(f, scope, out);
            }
            case Assign s -> {
                line = s.line();
                Object value;
                if (s.value() != null) {
                    value = eval(s.value(), scope);
                } else {
                    StringBuilder sb = new StringBuilder();
                    exec(s.body(), new Scope(scope), sb);
                    value = sb.toString();
                }
                if (s.attr() != null) {
                    if (!(scope.get(s.targets().get(0)) instanceof Namespace ns)) {
                        throw Jinja.error(line, "can only set attributes on a namespace(), not on '"
                                + s.targets().get(0) + "'");
                    }
                    ns.attrs.put(s.attr(), value);
                } else {
                    assign(s.targets(), value, scope);
                }
            }
            case MacroDef m -> scope.vars.put(m.name(), macro(m, scope));
            case FilterBlock fb -> {
                StringBuilder sb = new StringBuilder();
                exec(fb.body(), scope, sb);
                line = fb.line();
                out.append(Py.str(filter(fb.filter(), sb.toString(), scope)));
            }
            case Break b -> {
                return Flow.BREAK;
            }
            case Continue c -> {
                return Flow.CONTINUE;
            }
        }
        return Flow.NORMAL;
    }

    private void assign(List<String> targets, Object value, Scope scope) {
        if (targets.size() == 1) {
            scope.vars.put(targets.get(0), value);
            return;
        }
        List<Object> items = Py.iterate(value);
        if (items.size() != targets.size()) {
            throw Jinja.error(line, "cannot unpack " + items.size() + " values into " + targets.size());
        }
        for (int i = 0; i < targets.size(); i++) {
            scope.vars.put(targets.get(i), items.get(i));
        }
    }

    private Flow loop(For f, Scope scope, StringBuilder out) {
        line = f.line();
        List<Object> items = Py.iterate(eval(f.iter(), scope));
        if (f.filter() != null) {
            List<Object> kept = new ArrayList<>();
            for (Object item : items) {
                Scope inner = new Scope(scope);
                assign(f.targets(), item, inner);
                if (Py.truthy(eval(f.filter(), inner))) {
                    kept.add(item);
                }
            }
            items = kept;
        }
        if (items.isEmpty()) {
            return exec(f.orElse(), scope, out);
        }
        Map<String, Object> loop = new HashMap<>();
        int n = items.size();
        loop.put("length", (long) n);
        for (int i = 0; i < n; i++) {
            Object item = items.get(i);
            loop.put("index0", (long) i);
            loop.put("index", (long) i + 1);
            loop.put("revindex0", (long) (n - 1 - i));
            loop.put("revindex", (long) (n - i));
            loop.put("first", i == 0);
            loop.put("last", i == n - 1);
            loop.put("previtem", i > 0 ? items.get(i - 1) : new Undefined("there is no previous item"));
            loop.put("nextitem", i < n - 1 ? items.get(i + 1) : new Undefined("there is no next item"));
            loop.put("depth", 1L);
            loop.put("depth0", 0L);
            int index = i;
            loop.put("cycle", (Fn) (args, kw) -> args.get(index % args.size()));
            // Each iteration has its own scope: a set in the body does not carry to the next one (as in Jinja2).
            Scope inner = new Scope(scope);
            inner.vars.put("loop", new LoopObject(new HashMap<>(loop)));
            assign(f.targets(), item, inner);
            if (exec(f.body(), inner, out) == Flow.BREAK) {
                break;
            }
            line = f.line();
        }
        return Flow.NORMAL;
    }

    /** The {@code loop} variable: attribute access only, not a dict. */
    private record LoopObject(Map<String, Object> attrs) {
    }

    private Fn macro(MacroDef m, Scope defining) {
        return (args, kwargs) -> {
            if (args.size() > m.params().size()) {
                throw Jinja.error(m.line(), "macro '" + m.name() + "' takes " + m.params().size()
                        + " arguments, got " + args.size());
            }
            Scope s = new Scope(defining);
            for (int i = 0; i < m.params().size(); i++) {
                String p = m.params().get(i);
                Object v;
                if (i < args.size()) {
                    v = args.get(i);
                } else if (kwargs.containsKey(p)) {
                    v = kwargs.get(p);
                } else if (m.defaults().get(i) != null) {
                    v = eval(m.defaults().get(i), s);
                } else {
                    v = new Undefined("parameter '" + p + "' was not provided");
                }
                s.vars.put(p, v);
            }
            if (depth >= MAX_DEPTH) {
                throw Jinja.error(m.line(), "macro '" + m.name() + "' nested deeper than " + MAX_DEPTH);
            }
            int saved = line;
            depth++;
            StringBuilder sb = new StringBuilder();
            try {
                exec(m.body(), s, sb);
            } finally {
                depth--;
            }
            line = saved;
            return sb.toString();
        };
    }

    // ---- expressions

    private Object eval(Expr e, Scope scope) {
        return switch (e) {
            case Const c -> c.value();
            case Name n -> scope.get(n.name());
            case ListExpr l -> {
                List<Object> out = new ArrayList<>();
                l.items().forEach(x -> out.add(eval(x, scope)));
                yield l.tuple() ? new Py.Tuple(out) : out;
            }
            case DictExpr d -> {
                Map<Object, Object> out = new LinkedHashMap<>();
                for (int i = 0; i < d.keys().size(); i++) {
                    out.put(eval(d.keys().get(i), scope), eval(d.values().get(i), scope));
                }
                yield out;
            }
            case Attr a -> getattr(eval(a.obj(), scope), a.name());
            case Item i -> getitem(eval(i.obj(), scope), eval(i.key(), scope));
            case Slice s -> {
                Object obj = eval(s.obj(), scope);
                failIfUndefined(obj);
                yield Py.slice(obj, opt(s.start(), scope), opt(s.stop(), scope), opt(s.step(), scope));
            }
            case Call c -> {
                Object fn = eval(c.fn(), scope);
                List<Object> args = new ArrayList<>();
                c.args().forEach(x -> args.add(eval(x, scope)));
                Map<String, Object> kwargs = new LinkedHashMap<>();
                c.kwargs().forEach((k, v) -> kwargs.put(k, eval(v, scope)));
                failIfUndefined(fn);
                if (!(fn instanceof Fn f)) {
                    throw new TypeError("'" + Py.typeName(fn) + "' object is not callable");
                }
                yield f.call(args, kwargs);
            }
            case Filter f -> filter(f, eval(f.value(), scope), scope);
            case Test t -> {
                Object v = eval(t.value(), scope);
                List<Object> args = new ArrayList<>();
                t.args().forEach(x -> args.add(eval(x, scope)));
                yield test(t.name(), v, args) != t.negated();
            }
            case Unary u -> {
                Object v = eval(u.operand(), scope);
                yield switch (u.op()) {
                    case "not" -> !Py.truthy(v);
                    case "-" -> v instanceof Double d ? (Object) (-d) : (Object) (-Py.toLong(number(v)));
                    default -> number(v);
                };
            }
            case Binary b -> binary(b, scope);
            case Cond c -> Py.truthy(eval(c.cond(), scope)) ? eval(c.then(), scope)
                    : c.orElse() == null ? new Undefined("the inline if-expression evaluated to false")
                    : eval(c.orElse(), scope);
        };
    }

    private Object opt(Expr e, Scope scope) {
        return e == null ? null : eval(e, scope);
    }

    private static Object number(Object v) {
        if (!Py.isNumber(v)) {
            throw new TypeError("bad operand type for unary -: '" + Py.typeName(v) + "'");
        }
        return v instanceof Boolean b ? (Object) (b ? 1L : 0L) : v;
    }

    private static void failIfUndefined(Object v) {
        if (v instanceof Undefined u) {
            throw new TypeError(u.hint());
        }
    }

    private Object binary(Binary b, Scope scope) {
        Object l = eval(b.left(), scope);
        switch (b.op()) {
            case "and" -> {
                return Py.truthy(l) ? eval(b.right(), scope) : l;
            }
            case "or" -> {
                return Py.truthy(l) ? l : eval(b.right(), scope);
            }
            default -> {
            }
        }
        Object r = eval(b.right(), scope);
        return switch (b.op()) {
            case "==" -> Py.eq(l, r);
            case "!=" -> !Py.eq(l, r);
            case "<" -> Py.compare(operand(l), operand(r)) < 0;
            case "<=" -> Py.compare(operand(l), operand(r)) <= 0;
            case ">" -> Py.compare(operand(l), operand(r)) > 0;
            case ">=" -> Py.compare(operand(l), operand(r)) >= 0;
            case "in" -> Py.contains(r, l);
            case "not in" -> !Py.contains(r, l);
            case "~" -> Py.str(l) + Py.str(r);
            case "+" -> add(operand(l), operand(r));
            default -> arithmetic(b.op(), operand(l), operand(r));
        };
    }

    private static Object operand(Object v) {
        failIfUndefined(v);
        return v;
    }

    private static Object add(Object l, Object r) {
        if (l instanceof String a && r instanceof String c) {
            return a + c;
        }
        if (l instanceof List<?> a && r instanceof List<?> c) {
            List<Object> out = new ArrayList<>(a);
            out.addAll(c);
            return out;
        }
        if (Py.isNumber(l) && Py.isNumber(r)) {
            return Py.isInteger(l) && Py.isInteger(r) ? (Object) (Py.toLong(l) + Py.toLong(r))
                    : (Object) (Py.toDouble(l) + Py.toDouble(r));
        }
        throw new TypeError("unsupported operand type(s) for +: '" + Py.typeName(l) + "' and '"
                + Py.typeName(r) + "'");
    }

    private static Object arithmetic(String op, Object l, Object r) {
        if (op.equals("*") && l instanceof String s && Py.isInteger(r)) {
            return s.repeat((int) Math.max(0, Py.toLong(r)));
        }
        if (op.equals("*") && l instanceof List<?> list && Py.isInteger(r)) {
            List<Object> out = new ArrayList<>();
            for (long i = 0; i < Py.toLong(r); i++) {
                out.addAll(list);
            }
            return out;
        }
        if (!Py.isNumber(l) || !Py.isNumber(r)) {
            throw new TypeError("unsupported operand type(s) for " + op + ": '" + Py.typeName(l) + "' and '"
                    + Py.typeName(r) + "'");
        }
        boolean ints = Py.isInteger(l) && Py.isInteger(r);
        double x = Py.toDouble(l);
        double y = Py.toDouble(r);
        return switch (op) {
            case "-" -> ints ? (Object) (Py.toLong(l) - Py.toLong(r)) : (Object) (x - y);
            case "*" -> ints ? (Object) (Py.toLong(l) * Py.toLong(r)) : (Object) (x * y);
            case "/" -> {
                if (y == 0) {
                    throw new ArithmeticException("division by zero");
                }
                yield x / y;
            }
            case "//" -> {
                if (y == 0) {
                    throw new ArithmeticException("integer division or modulo by zero");
                }
                yield ints ? (Object) Math.floorDiv(Py.toLong(l), Py.toLong(r)) : (Object) Math.floor(x / y);
            }
            case "%" -> {
                if (y == 0) {
                    throw new ArithmeticException("integer division or modulo by zero");
                }
                yield ints ? (Object) Math.floorMod(Py.toLong(l), Py.toLong(r)) : (Object) (x - Math.floor(x / y) * y);
            }
            case "**" -> ints && Py.toLong(r) >= 0 ? (Object) (long) Math.pow(x, y) : (Object) Math.pow(x, y);
            default -> throw new TypeError("unknown operator " + op);
        };
    }

    // ---- attribute and item access

    /** {@code obj.name}: like Jinja, Python attributes (methods) first, then items. */
    private Object getattr(Object obj, String name) {
        return switch (obj) {
            case Undefined u -> throw new TypeError(u.hint());
            case Map<?, ?> m -> {
                Fn method = Methods.dict(m, name);
                if (method != null) {
                    yield method;
                }
                yield m.containsKey(name) ? m.get(name)
                        : new Undefined("'dict object' has no attribute '" + name + "'");
            }
            case Namespace ns -> ns.attrs.containsKey(name) ? ns.attrs.get(name)
                    : new Undefined("'Namespace' object has no attribute '" + name + "'");
            case LoopObject lo -> lo.attrs().containsKey(name) ? lo.attrs().get(name)
                    : new Undefined("'LoopContext' object has no attribute '" + name + "'");
            case String s -> orUndefined(Methods.string(s, name), obj, name);
            case List<?> l -> orUndefined(Methods.list(l, name), obj, name);
            default -> new Undefined("'" + Py.typeName(obj) + " object' has no attribute '" + name + "'");
        };
    }

    private static Object orUndefined(Object v, Object obj, String name) {
        return v != null ? v : new Undefined("'" + Py.typeName(obj) + " object' has no attribute '" + name + "'");
    }

    /** {@code obj[key]}: items first, then attributes for string keys. */
    private Object getitem(Object obj, Object key) {
        switch (obj) {
            case Undefined u -> throw new TypeError(u.hint());
            case Map<?, ?> m -> {
                if (m.containsKey(key)) {
                    return m.get(key);
                }
            }
            case List<?> l when Py.isInteger(key) -> {
                long i = Py.toLong(key);
                i = i < 0 ? i + l.size() : i;
                return i >= 0 && i < l.size() ? l.get((int) i)
                        : new Undefined("list index out of range");
            }
            case String s when Py.isInteger(key) -> {
                int[] cps = s.codePoints().toArray();
                long i = Py.toLong(key);
                i = i < 0 ? i + cps.length : i;
                return i >= 0 && i < cps.length ? Character.toString(cps[(int) i])
                        : new Undefined("string index out of range");
            }
            default -> {
            }
        }
        return key instanceof String k ? getattr(obj, k)
                : new Undefined("'" + Py.typeName(obj) + " object' has no element " + Py.repr(key));
    }

    // ---- globals

    private Object range(List<Object> args, Map<String, Object> kw) {
        long start = 0;
        long stop;
        long step = 1;
        if (args.size() == 1) {
            stop = Py.toLong(args.get(0));
        } else if (args.size() >= 2) {
            start = Py.toLong(args.get(0));
            stop = Py.toLong(args.get(1));
            step = args.size() > 2 ? Py.toLong(args.get(2)) : 1;
        } else {
            throw new TypeError("range expected at least 1 argument, got 0");
        }
        if (step == 0) {
            throw new TypeError("range() arg 3 must not be zero");
        }
        List<Object> out = new ArrayList<>();
        for (long i = start; step > 0 ? i < stop : i > stop; i += step) {
            if (out.size() >= 100_000) {
                throw new TypeError("range too big (more than 100000 items)");
            }
            out.add(i);
        }
        return out;
    }

    static Object arg(List<Object> args, int i, String name) {
        if (i >= args.size()) {
            throw new TypeError("missing argument '" + name + "'");
        }
        return args.get(i);
    }

    static Object arg(List<Object> args, Map<String, Object> kw, int i, String name, Object otherwise) {
        return i < args.size() ? args.get(i) : kw.getOrDefault(name, otherwise);
    }

    // ---- filters

    private Object filter(Filter f, Object value, Scope scope) {
        List<Object> args = new ArrayList<>();
        f.args().forEach(x -> args.add(eval(x, scope)));
        Map<String, Object> kw = new LinkedHashMap<>();
        f.kwargs().forEach((k, v) -> kw.put(k, eval(v, scope)));
        return filter(f.name(), value, args, kw);
    }

    private Object filter(String name, Object v, List<Object> args, Map<String, Object> kw) {
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
                return Methods.call(Py.str(v), name);
            }
            case "replace" -> {
                Fn m = Methods.string(Py.str(v), "replace");
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

    private boolean test(String name, Object v, List<Object> args) {
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

    /** Python methods of str, list and dict that templates call. */
    static final class Methods {
        private Methods() {
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

    /** Python's strftime directives, in the C locale. */
    static final class Strftime {
        private Strftime() {
        }

        static String format(String fmt, LocalDateTime t) {
            StringBuilder sb = new StringBuilder();
            for (int i = 0; i < fmt.length(); i++) {
                char c = fmt.charAt(i);
                if (c != '%' || i + 1 >= fmt.length()) {
                    sb.append(c);
                    continue;
                }
                char d = fmt.charAt(++i);
                boolean noPad = d == '-' && i + 1 < fmt.length();  // glibc's %-d: no zero padding
                if (noPad) {
                    d = fmt.charAt(++i);
                }
                String pad = noPad ? "%d" : "%02d";
                switch (d) {
                    case 'Y' -> sb.append(t.getYear());
                    case 'y' -> sb.append(String.format("%02d", t.getYear() % 100));
                    case 'm' -> sb.append(String.format(pad, t.getMonthValue()));
                    case 'd' -> sb.append(String.format(pad, t.getDayOfMonth()));
                    case 'e' -> sb.append(String.format("%2d", t.getDayOfMonth()));
                    case 'H' -> sb.append(String.format(pad, t.getHour()));
                    case 'I' -> sb.append(String.format(pad, (t.getHour() + 11) % 12 + 1));
                    case 'M' -> sb.append(String.format(pad, t.getMinute()));
                    case 'S' -> sb.append(String.format(pad, t.getSecond()));
                    case 'p' -> sb.append(t.getHour() < 12 ? "AM" : "PM");
                    case 'j' -> sb.append(String.format(noPad ? "%d" : "%03d", t.getDayOfYear()));
                    case 'b', 'h' -> sb.append(t.getMonth().getDisplayName(java.time.format.TextStyle.SHORT, Locale.US));
                    case 'B' -> sb.append(t.getMonth().getDisplayName(java.time.format.TextStyle.FULL, Locale.US));
                    case 'a' -> sb.append(t.getDayOfWeek().getDisplayName(java.time.format.TextStyle.SHORT, Locale.US));
                    case 'A' -> sb.append(t.getDayOfWeek().getDisplayName(java.time.format.TextStyle.FULL, Locale.US));
                    case 'w' -> sb.append(t.getDayOfWeek().getValue() % 7);
                    case 'u' -> sb.append(t.getDayOfWeek().getValue());
                    case 'F' -> sb.append(String.format("%d-%02d-%02d", t.getYear(), t.getMonthValue(), t.getDayOfMonth()));
                    case 'T' -> sb.append(String.format("%02d:%02d:%02d", t.getHour(), t.getMinute(), t.getSecond()));
                    case '%' -> sb.append('%');
                    default -> sb.append('%').append(noPad ? "-" : "").append(d);
                }
            }
            return sb.toString();
        }
    }
}
