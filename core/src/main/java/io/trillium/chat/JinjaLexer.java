package io.trillium.chat;

import java.util.ArrayList;
import java.util.List;

/**
 * Lexer for the Jinja subset chat templates use: splits template source into text and the tokens of
 * each {@code {{ }}} and {@code {% %}} tag, dropping comments and keeping {@code {% raw %}} bodies as
 * text. Whitespace handling follows Jinja2's lexer with {@code trim_blocks} and {@code lstrip_blocks}
 * on and {@code keep_trailing_newline} off, as Hugging Face transformers configures it. Apart from
 * {@link Jinja}'s parser so that the parser sees tokens, never characters.
 */
final class JinjaLexer {
    enum Kind { NAME, STRING, NUMBER, OP, END }

    record Tok(Kind kind, String text, Object value, int line) {
        boolean is(String s) {
            return (kind == Kind.OP || kind == Kind.NAME) && text.equals(s);
        }
    }

    /** One piece of template source: plain text, or the tokens of a {@code {{ }}} or {@code {% %}} tag. */
    record Piece(String text, List<Tok> tokens, boolean block, int line) {
    }

    private final String src;
    private int pos;
    private int line = 1;
    private final List<Piece> pieces = new ArrayList<>();

    JinjaLexer(String source) {
        String s = source.replace("\r\n", "\n").replace('\r', '\n');
        // keep_trailing_newline=False: a single final newline is not part of the template.
        this.src = s.endsWith("\n") ? s.substring(0, s.length() - 1) : s;
    }

    List<Piece> run() {
        boolean lineStart = true;
        while (pos < src.length()) {
            int open = nextTagStart(pos);
            String text = src.substring(pos, open < 0 ? src.length() : open);
            if (open < 0) {
                addText(text);
                break;
            }
            char kind = src.charAt(open + 1);
            char sign = open + 2 < src.length() ? src.charAt(open + 2) : ' ';
            if (sign == '-') {
                text = Py.strip(text, null, false, true);
            } else if (sign != '+' && kind != '{') {
                // lstrip_blocks: drop the indentation before a block or comment tag alone on its line.
                int l = text.lastIndexOf('\n') + 1;
                if ((l > 0 || lineStart) && text.substring(l).chars().allMatch(c -> c == ' ' || c == '\t')) {
                    text = text.substring(0, l);
                }
            }
            addText(text);
            line += countLines(src, pos, open);
            pos = open + 2 + (sign == '-' || sign == '+' ? 1 : 0);
            char endSign;
            if (kind == '#') {
                int close = src.indexOf("#}", pos);
                if (close < 0) {
                    throw Jinja.error(line, "unclosed comment");
                }
                endSign = src.charAt(close - 1);
                line += countLines(src, pos, close);
                pos = close + 2;
            } else {
                int tagLine = line;
                List<Tok> toks = new ArrayList<>();
                endSign = lexTag(kind == '{' ? '}' : '%', toks);
                if (kind == '%' && toks.size() == 2 && toks.get(0).is("raw")) {
                    endSign = raw(endSign);
                } else {
                    pieces.add(new Piece(null, toks, kind == '%', tagLine));
                }
            }
            int before = pos;
            if (endSign == '-') {
                while (pos < src.length() && Py.isSpace(src.charAt(pos))) {
                    pos++;
                }
            } else if (endSign != '+' && kind != '{' && pos < src.length() && src.charAt(pos) == '\n') {
                pos++;  // trim_blocks: the newline after a block tag goes
            }
            line += countLines(src, before, pos);
            lineStart = pos > 0 && src.charAt(pos - 1) == '\n';
        }
        return pieces;
    }

    private void addText(String text) {
        if (!text.isEmpty()) {
            pieces.add(new Piece(text, null, false, line));
        }
    }

    private int nextTagStart(int from) {
        int i = from;
        while ((i = src.indexOf('{', i)) >= 0 && i + 1 < src.length()) {
            char c = src.charAt(i + 1);
            if (c == '{' || c == '%' || c == '#') {
                return i;
            }
            i++;
        }
        return -1;
    }

    /** {@code {% raw %}...{% endraw %}}: the body is text, kept verbatim. */
    private char raw(char endSign) {
        if (endSign == '-') {
            while (pos < src.length() && Py.isSpace(src.charAt(pos))) {
                pos++;
            }
        }
        var m = java.util.regex.Pattern.compile("\\{%([-+]?)\\s*endraw\\s*([-+]?)%}").matcher(src);
        if (!m.find(pos)) {
            throw Jinja.error(line, "missing endraw");
        }
        String body = src.substring(pos, m.start());
        addText("-".equals(m.group(1)) ? Py.strip(body, null, false, true) : body);
        line += countLines(src, pos, m.end());
        pos = m.end();
        return m.group(2).isEmpty() ? ' ' : m.group(2).charAt(0);
    }

    /** Lexes the inside of a tag up to its closing {@code }}} or {@code %}}; returns the end's sign. */
    private char lexTag(char close, List<Tok> toks) {
        int depth = 0;
        while (true) {
            if (pos >= src.length()) {
                throw Jinja.error(line, "unclosed tag");
            }
            char c = src.charAt(pos);
            if (c == '\n') {
                line++;
                pos++;
                continue;
            }
            if (c == ' ' || c == '\t') {
                pos++;
                continue;
            }
            if (depth == 0) {
                String end = close + "}";
                if ((c == '-' || c == '+') && src.startsWith(end, pos + 1)) {
                    pos += 3;
                    toks.add(new Tok(Kind.END, "", null, line));
                    return c;
                }
                if (src.startsWith(end, pos)) {
                    pos += 2;
                    toks.add(new Tok(Kind.END, "", null, line));
                    return ' ';
                }
            }
            if (c == '\'' || c == '"') {
                toks.add(string(c));
            } else if (Character.isDigit(c)) {
                toks.add(number());
            } else if (Character.isLetter(c) || c == '_') {
                int s = pos;
                while (pos < src.length() && (Character.isLetterOrDigit(src.charAt(pos)) || src.charAt(pos) == '_')) {
                    pos++;
                }
                toks.add(new Tok(Kind.NAME, src.substring(s, pos), null, line));
            } else {
                String op = null;
                for (String o : OPS) {
                    if (src.startsWith(o, pos)) {
                        op = o;
                        break;
                    }
                }
                if (op == null) {
                    throw Jinja.error(line, "unexpected character '" + c + "'");
                }
                depth += "([{".contains(op) ? 1 : ")]}".contains(op) ? -1 : 0;
                pos += op.length();
                toks.add(new Tok(Kind.OP, op, null, line));
            }
        }
    }

    private static final List<String> OPS = List.of("//", "**", "==", "!=", "<=", ">=", "+", "-", "*", "/",
            "%", "~", "<", ">", "=", "(", ")", "[", "]", "{", "}", ",", ".", ":", "|");

    private Tok number() {
        int s = pos;
        while (pos < src.length() && (Character.isDigit(src.charAt(pos)) || src.charAt(pos) == '_')) {
            pos++;
        }
        boolean isFloat = false;
        if (pos + 1 < src.length() && src.charAt(pos) == '.' && Character.isDigit(src.charAt(pos + 1))) {
            isFloat = true;
            pos++;
            while (pos < src.length() && (Character.isDigit(src.charAt(pos)) || src.charAt(pos) == '_')) {
                pos++;
            }
        }
        if (pos < src.length() && (src.charAt(pos) == 'e' || src.charAt(pos) == 'E')) {
            int e = pos + 1;
            if (e < src.length() && (src.charAt(e) == '+' || src.charAt(e) == '-')) {
                e++;
            }
            if (e < src.length() && Character.isDigit(src.charAt(e))) {
                isFloat = true;
                pos = e;
                while (pos < src.length() && Character.isDigit(src.charAt(pos))) {
                    pos++;
                }
            }
        }
        String t = src.substring(s, pos).replace("_", "");
        return new Tok(Kind.NUMBER, t, isFloat ? (Object) Double.parseDouble(t) : (Object) Long.parseLong(t), line);
    }

    /** A Python string literal, decoded like Jinja does (unicode-escape). */
    private Tok string(char q) {
        int startLine = line;
        StringBuilder sb = new StringBuilder();
        pos++;
        while (true) {
            if (pos >= src.length()) {
                throw Jinja.error(startLine, "unterminated string");
            }
            char c = src.charAt(pos++);
            if (c == q) {
                break;
            }
            if (c == '\n') {
                line++;
            }
            if (c != '\\' || pos >= src.length()) {
                sb.append(c);
                continue;
            }
            char e = src.charAt(pos++);
            switch (e) {
                case 'n' -> sb.append('\n');
                case 't' -> sb.append('\t');
                case 'r' -> sb.append('\r');
                case 'b' -> sb.append('\b');
                case 'f' -> sb.append('\f');
                case 'v' -> sb.append('\u000b');
                case 'a' -> sb.append('\u0007');
                case '0' -> sb.append('\0');
                case '\\', '\'', '"' -> sb.append(e);
                case '\n' -> line++;  // line continuation
                case 'x' -> sb.appendCodePoint(hex(2));
                case 'u' -> sb.appendCodePoint(hex(4));
                case 'U' -> sb.appendCodePoint(hex(8));
                default -> sb.append('\\').append(e);
            }
        }
        return new Tok(Kind.STRING, null, sb.toString(), startLine);
    }

    private int hex(int n) {
        if (pos + n > src.length()) {
            throw Jinja.error(line, "truncated escape");
        }
        int v = Integer.parseInt(src.substring(pos, pos + n), 16);
        pos += n;
        return v;
    }

    private static int countLines(String s, int from, int to) {
        int n = 0;
        for (int i = from; i < to; i++) {
            if (s.charAt(i) == '\n') {
                n++;
            }
        }
        return n;
    }
}
