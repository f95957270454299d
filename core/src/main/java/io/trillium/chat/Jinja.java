package io.trillium.chat;

import io.trillium.chat.JinjaLexer.Kind;
import io.trillium.chat.JinjaLexer.Piece;
import io.trillium.chat.JinjaLexer.Tok;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Parser for the Jinja subset chat templates use, producing a small AST that
 * {@link JinjaInterpreter} walks. It reads the pieces and tokens of {@link JinjaLexer}.
 */
final class Jinja {
    private Jinja() {
    }

    // ---- AST

    sealed interface Node {
    }

    record Text(String text) implements Node {
    }

    record Output(Expr expr, int line) implements Node {
    }

    record If(List<Expr> conds, List<List<Node>> bodies, List<Node> orElse, int line) implements Node {
    }

    record For(List<String> targets, Expr iter, Expr filter, List<Node> body, List<Node> orElse, int line)
            implements Node {
    }

    /** {@code set a = x}, {@code set a, b = x}, {@code set ns.attr = x}, or block set when value is null. */
    record Assign(List<String> targets, String attr, Expr value, List<Node> body, int line) implements Node {
    }

    record MacroDef(String name, List<String> params, List<Expr> defaults, List<Node> body, int line)
            implements Node {
    }

    record FilterBlock(Filter filter, List<Node> body, int line) implements Node {
    }

    record Break(int line) implements Node {
    }

    record Continue(int line) implements Node {
    }

    sealed interface Expr {
    }

    record Const(Object value) implements Expr {
    }

    record Name(String name) implements Expr {
    }

    record ListExpr(List<Expr> items, boolean tuple) implements Expr {
        ListExpr(List<Expr> items) {
            this(items, false);
        }
    }

    record DictExpr(List<Expr> keys, List<Expr> values) implements Expr {
    }

    record Attr(Expr obj, String name) implements Expr {
    }

    record Item(Expr obj, Expr key) implements Expr {
    }

    record Slice(Expr obj, Expr start, Expr stop, Expr step) implements Expr {
    }

    record Call(Expr fn, List<Expr> args, Map<String, Expr> kwargs) implements Expr {
    }

    /** A filter application; {@code value} is null inside a filter block. */
    record Filter(Expr value, String name, List<Expr> args, Map<String, Expr> kwargs) implements Expr {
    }

    record Test(Expr value, String name, List<Expr> args, boolean negated) implements Expr {
    }

    record Unary(String op, Expr operand) implements Expr {
    }

    record Binary(String op, Expr left, Expr right) implements Expr {
    }

    record Cond(Expr cond, Expr then, Expr orElse) implements Expr {
    }

    static ChatTemplateException error(int line, String message) {
        return new ChatTemplateException("template line " + line + ": " + message);
    }

    // ---- parser

    static List<Node> parse(String source) {
        Parser p = new Parser(new JinjaLexer(source).run());
        List<Node> body = p.body(java.util.Set.of());
        if (p.at < p.pieces.size()) {
            Piece stray = p.pieces.get(p.at);
            throw error(stray.line(), "unexpected '" + stray.tokens().get(0).text() + "'");
        }
        return body;
    }

    private static final class Parser {
        final List<Piece> pieces;
        int at;
        // the tag being parsed
        List<Tok> toks;
        int ti;

        Parser(List<Piece> pieces) {
            this.pieces = pieces;
        }

        /** Parses nodes until a block tag whose name is in {@code ends} (left unconsumed). */
        List<Node> body(java.util.Set<String> ends) {
            List<Node> out = new ArrayList<>();
            while (at < pieces.size()) {
                Piece p = pieces.get(at);
                if (p.text() != null) {
                    out.add(new Text(p.text()));
                    at++;
                    continue;
                }
                toks = p.tokens();
                ti = 0;
                if (!p.block()) {
                    at++;
                    Expr e = tuple();
                    expectEnd();
                    out.add(new Output(e, p.line()));
                    continue;
                }
                Tok head = toks.get(0);
                if (head.kind() != Kind.NAME) {
                    throw error(p.line(), "expected a tag name");
                }
                if (ends.contains(head.text())) {
                    return out;
                }
                at++;
                ti = 1;
                out.add(statement(head.text(), p.line()));
            }
            if (!ends.isEmpty()) {
                throw error(pieces.isEmpty() ? 1 : pieces.get(pieces.size() - 1).line(),
                        "missing " + String.join(" or ", new java.util.TreeSet<>(ends)));
            }
            return out;
        }

        /** Consumes the end tag the body stopped at; returns its name. */
        String endTag() {
            Piece p = pieces.get(at++);
            toks = p.tokens();
            ti = 1;
            return toks.get(0).text();
        }

        Node statement(String tag, int line) {
            switch (tag) {
                case "if" -> {
                    List<Expr> conds = new ArrayList<>();
                    List<List<Node>> bodies = new ArrayList<>();
                    conds.add(expression(true));
                    expectEnd();
                    while (true) {
                        bodies.add(body(java.util.Set.of("elif", "else", "endif")));
                        String t = endTag();
                        if (t.equals("elif")) {
                            conds.add(expression(true));
                            expectEnd();
                        } else if (t.equals("else")) {
                            expectEnd();
                            List<Node> orElse = body(java.util.Set.of("endif"));
                            endTag();
                            expectEnd();
                            return new If(conds, bodies, orElse, line);
                        } else {
                            expectEnd();
                            return new If(conds, bodies, List.of(), line);
                        }
                    }
                }
                case "for" -> {
                    List<String> targets = new ArrayList<>();
                    boolean paren = skip("(");
                    do {
                        targets.add(name());
                    } while (skip(","));
                    if (paren) {
                        expect(")");
                    }
                    expect("in");
                    Expr iter = expression(false);
                    Expr filter = skip("if") ? expression(true) : null;
                    if (skip("recursive")) {
                        throw error(line, "recursive loops are not supported");
                    }
                    expectEnd();
                    List<Node> body = body(java.util.Set.of("else", "endfor"));
                    List<Node> orElse = List.of();
                    if (endTag().equals("else")) {
                        expectEnd();
                        orElse = body(java.util.Set.of("endfor"));
                        endTag();
                    }
                    expectEnd();
                    return new For(targets, iter, filter, body, orElse, line);
                }
                case "set" -> {
                    List<String> targets = new ArrayList<>();
                    String attr = null;
                    targets.add(name());
                    if (skip(".")) {
                        attr = name();
                    } else {
                        while (skip(",")) {
                            targets.add(name());
                        }
                    }
                    if (skip("=")) {
                        Expr value = tuple();
                        expectEnd();
                        return new Assign(targets, attr, value, null, line);
                    }
                    expectEnd();
                    List<Node> body = body(java.util.Set.of("endset"));
                    endTag();
                    expectEnd();
                    return new Assign(targets, attr, null, body, line);
                }
                case "macro" -> {
                    String name = name();
                    List<String> params = new ArrayList<>();
                    List<Expr> defaults = new ArrayList<>();
                    expect("(");
                    while (!skip(")")) {
                        if (!params.isEmpty()) {
                            expect(",");
                            if (skip(")")) {
                                break;
                            }
                        }
                        params.add(name());
                        defaults.add(skip("=") ? expression(true) : null);
                    }
                    expectEnd();
                    List<Node> body = body(java.util.Set.of("endmacro"));
                    endTag();
                    if (peek().kind() == Kind.NAME) {
                        ti++;  // {% endmacro name %}
                    }
                    expectEnd();
                    return new MacroDef(name, params, defaults, body, line);
                }
                case "filter" -> {
                    Filter f = filter(null);
                    expectEnd();
                    List<Node> body = body(java.util.Set.of("endfilter"));
                    endTag();
                    expectEnd();
                    return new FilterBlock(f, body, line);
                }
                case "generation" -> {
                    // transformers' AssistantTracker tag: renders its body unchanged.
                    expectEnd();
                    List<Node> body = body(java.util.Set.of("endgeneration"));
                    endTag();
                    expectEnd();
                    return new If(List.of(new Const(true)), List.of(body), List.of(), line);
                }
                case "break" -> {
                    expectEnd();
                    return new Break(line);
                }
                case "continue" -> {
                    expectEnd();
                    return new Continue(line);
                }
                default -> throw error(line, "unknown or unsupported tag '" + tag + "'");
            }
        }

        // ---- token helpers

        Tok peek() {
            return toks.get(ti);
        }

        Tok peek(int ahead) {
            return toks.get(Math.min(ti + ahead, toks.size() - 1));
        }

        Tok next() {
            Tok t = toks.get(ti);
            if (t.kind() != Kind.END) {
                ti++;
            }
            return t;
        }

        boolean skip(String s) {
            if (peek().is(s)) {
                ti++;
                return true;
            }
            return false;
        }

        void expect(String s) {
            if (!skip(s)) {
                throw unexpected("'" + s + "'");
            }
        }

        String name() {
            Tok t = next();
            if (t.kind() != Kind.NAME) {
                throw error(t.line(), "expected a name, got " + describe(t));
            }
            return t.text();
        }

        void expectEnd() {
            if (peek().kind() != Kind.END) {
                throw unexpected("end of tag");
            }
        }

        ChatTemplateException unexpected(String wanted) {
            Tok t = peek();
            return error(t.line(), "expected " + wanted + ", got " + describe(t));
        }

        static String describe(Tok t) {
            return switch (t.kind()) {
                case END -> "end of tag";
                case STRING -> "a string";
                case NUMBER -> t.text();
                default -> "'" + t.text() + "'";
            };
        }

        // ---- expressions, following Jinja2's grammar (filters and tests bind tighter than operators)

        /** An expression, or a tuple of them when commas follow (as in {@code {% set a, b = 1, 2 %}}). */
        Expr tuple() {
            Expr first = expression(true);
            if (!peek().is(",")) {
                return first;
            }
            List<Expr> items = new ArrayList<>(List.of(first));
            while (skip(",") && peek().kind() != Kind.END) {
                items.add(expression(true));
            }
            return new ListExpr(items, true);
        }

        Expr expression(boolean withCond) {
            Expr e = or();
            while (withCond && skip("if")) {
                Expr cond = or();
                Expr orElse = skip("else") ? expression(true) : null;
                e = new Cond(cond, e, orElse);
            }
            return e;
        }

        Expr or() {
            Expr e = and();
            while (skip("or")) {
                e = new Binary("or", e, and());
            }
            return e;
        }

        Expr and() {
            Expr e = not();
            while (skip("and")) {
                e = new Binary("and", e, not());
            }
            return e;
        }

        Expr not() {
            if (peek().is("not")) {
                ti++;
                return new Unary("not", not());
            }
            return compare();
        }

        Expr compare() {
            Expr e = math1();
            while (true) {
                Tok t = peek();
                if (t.kind() == Kind.OP && java.util.Set.of("==", "!=", "<", "<=", ">", ">=").contains(t.text())) {
                    ti++;
                    e = new Binary(t.text(), e, math1());
                } else if (t.is("in")) {
                    ti++;
                    e = new Binary("in", e, math1());
                } else if (t.is("not") && peek(1).is("in")) {
                    ti += 2;
                    e = new Binary("not in", e, math1());
                } else {
                    return e;
                }
            }
        }

        Expr math1() {
            Expr e = concat();
            while (peek().kind() == Kind.OP && (peek().is("+") || peek().is("-"))) {
                e = new Binary(next().text(), e, concat());
            }
            return e;
        }

        Expr concat() {
            Expr e = math2();
            while (skip("~")) {
                e = new Binary("~", e, math2());
            }
            return e;
        }

        Expr math2() {
            Expr e = pow();
            while (peek().kind() == Kind.OP && java.util.Set.of("*", "/", "//", "%").contains(peek().text())) {
                e = new Binary(next().text(), e, pow());
            }
            return e;
        }

        Expr pow() {
            Expr e = unary(true);
            while (skip("**")) {
                e = new Binary("**", e, unary(true));
            }
            return e;
        }

        Expr unary(boolean withFilter) {
            Expr e;
            if (peek().kind() == Kind.OP && (peek().is("-") || peek().is("+"))) {
                String op = next().text();
                e = new Unary(op, unary(false));
            } else {
                e = primary();
            }
            e = postfix(e);
            return withFilter ? filterExpr(e) : e;
        }

        Expr primary() {
            int start = ti;
            Tok t = next();
            switch (t.kind()) {
                case NAME -> {
                    return switch (t.text()) {
                        case "true", "True" -> new Const(true);
                        case "false", "False" -> new Const(false);
                        case "none", "None" -> new Const(null);
                        default -> new Name(t.text());
                    };
                }
                case STRING -> {
                    StringBuilder sb = new StringBuilder((String) t.value());
                    while (peek().kind() == Kind.STRING) {
                        sb.append((String) next().value());
                    }
                    return new Const(sb.toString());
                }
                case NUMBER -> {
                    return new Const(t.value());
                }
                default -> {
                }
            }
            if (t.is("(")) {
                if (skip(")")) {
                    return new ListExpr(List.of(), true);
                }
                Expr e = expression(true);
                if (!peek().is(",")) {
                    expect(")");
                    return e;
                }
                List<Expr> items = new ArrayList<>(List.of(e));
                while (skip(",") && !peek().is(")")) {
                    items.add(expression(true));
                }
                expect(")");
                return new ListExpr(items, true);
            }
            if (t.is("[")) {
                List<Expr> items = new ArrayList<>();
                while (!skip("]")) {
                    if (!items.isEmpty()) {
                        expect(",");
                        if (skip("]")) {
                            break;
                        }
                    }
                    items.add(expression(true));
                }
                return new ListExpr(items);
            }
            if (t.is("{")) {
                List<Expr> keys = new ArrayList<>();
                List<Expr> values = new ArrayList<>();
                while (!skip("}")) {
                    if (!keys.isEmpty()) {
                        expect(",");
                        if (skip("}")) {
                            break;
                        }
                    }
                    keys.add(expression(true));
                    expect(":");
                    values.add(expression(true));
                }
                return new DictExpr(keys, values);
            }
            ti = start;
            throw unexpected("an expression");
        }

        Expr postfix(Expr e) {
            while (true) {
                if (skip(".")) {
                    Tok t = next();
                    if (t.kind() == Kind.NAME) {
                        e = new Attr(e, t.text());
                    } else if (t.kind() == Kind.NUMBER && t.value() instanceof Long) {
                        e = new Item(e, new Const(t.value()));
                    } else {
                        throw error(t.line(), "expected an attribute name, got " + describe(t));
                    }
                } else if (skip("[")) {
                    e = subscript(e);
                } else if (peek().is("(")) {
                    e = call(e);
                } else {
                    return e;
                }
            }
        }

        Expr subscript(Expr obj) {
            Expr start = peek().is(":") ? null : expression(true);
            if (!skip(":")) {
                expect("]");
                return new Item(obj, start);
            }
            Expr stop = peek().is(":") || peek().is("]") ? null : expression(true);
            Expr step = null;
            if (skip(":") && !peek().is("]")) {
                step = expression(true);
            }
            expect("]");
            return new Slice(obj, start, stop, step);
        }

        Call call(Expr fn) {
            List<Expr> args = new ArrayList<>();
            Map<String, Expr> kwargs = new LinkedHashMap<>();
            callArgs(args, kwargs);
            return new Call(fn, args, kwargs);
        }

        void callArgs(List<Expr> args, Map<String, Expr> kwargs) {
            expect("(");
            boolean first = true;
            while (!skip(")")) {
                if (!first) {
                    expect(",");
                    if (skip(")")) {
                        break;
                    }
                }
                first = false;
                if (peek().kind() == Kind.NAME && peek(1).is("=")) {
                    String k = next().text();
                    ti++;
                    kwargs.put(k, expression(true));
                } else {
                    if (!kwargs.isEmpty()) {
                        throw unexpected("keyword argument");
                    }
                    args.add(expression(true));
                }
            }
        }

        Expr filterExpr(Expr e) {
            while (true) {
                if (skip("|")) {
                    e = filter(e);
                } else if (peek().is("is")) {
                    ti++;
                    boolean negated = skip("not");
                    String name = dottedName();
                    List<Expr> args = new ArrayList<>();
                    Tok t = peek();
                    if (t.is("(")) {
                        callArgs(args, new LinkedHashMap<>());
                    } else if ((t.kind() == Kind.NAME || t.kind() == Kind.STRING || t.kind() == Kind.NUMBER
                            || t.is("[") || t.is("{")) && !t.is("else") && !t.is("or") && !t.is("and")) {
                        // a single argument without parentheses: {{ x is divisibleby 3 }}
                        args.add(postfix(primary()));
                    }
                    e = new Test(e, name, args, negated);
                } else if (peek().is("(")) {
                    e = call(e);
                } else {
                    return e;
                }
            }
        }

        Filter filter(Expr value) {
            String name = dottedName();
            List<Expr> args = new ArrayList<>();
            Map<String, Expr> kwargs = new LinkedHashMap<>();
            if (peek().is("(")) {
                callArgs(args, kwargs);
            }
            return new Filter(value, name, args, kwargs);
        }

        String dottedName() {
            StringBuilder sb = new StringBuilder(name());
            while (peek().is(".") && peek(1).kind() == Kind.NAME) {
                ti++;
                sb.append('.').append(name());
            }
            return sb.toString();
        }
    }
}
