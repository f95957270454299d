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
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
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
                yield JinjaFilters.test(t.name(), v, args) != t.negated();
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

    static Object number(Object v) {
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

    static Object operand(Object v) {
        failIfUndefined(v);
        return v;
    }

    static Object add(Object l, Object r) {
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
    static Object getattr(Object obj, String name) {
        return switch (obj) {
            case Undefined u -> throw new TypeError(u.hint());
            case Map<?, ?> m -> {
                Fn method = PyMethods.dict(m, name);
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
            case String s -> orUndefined(PyMethods.string(s, name), obj, name);
            case List<?> l -> orUndefined(PyMethods.list(l, name), obj, name);
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
        return JinjaFilters.filter(f.name(), value, args, kw);
    }
}
