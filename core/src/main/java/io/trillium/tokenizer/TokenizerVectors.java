package io.trillium.tokenizer;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * llama.cpp's tokenizer test vectors ({@code models/ggml-vocab-*.gguf.inp / .out}). The {@code .inp}
 * file holds UTF-8 strings, each followed by {@link #SEPARATOR}; the {@code .out} file holds one line
 * per string with every id preceded by one space ({@code " 1 15043"}; an empty line for no ids).
 */
public final class TokenizerVectors {
    /** Follows every string of an {@code .inp} file, the last one included. */
    public static final String SEPARATOR = "\n__ggml_vocab_test__\n";

    private TokenizerVectors() {
    }

    /** The strings of an {@code .inp} file with the expected ids of its {@code .out} file. */
    public record Cases(List<String> texts, List<int[]> ids) {
    }

    /** Reads a pair of vector files; they must hold the same number of cases. */
    public static Cases read(Path inp, Path out) throws IOException {
        List<String> texts = readInputs(inp);
        List<int[]> ids = readExpected(out);
        if (ids.size() != texts.size()) {
            throw new IllegalArgumentException(out + " has " + ids.size() + " lines for the " + texts.size()
                    + " strings of " + inp);
        }
        return new Cases(texts, ids);
    }

    /** The strings of an {@code .inp} file's content (the empty tail after the last separator dropped). */
    public static List<String> parseInputs(String content) {
        List<String> strings = new ArrayList<>();
        int from = 0;
        for (int at; (at = content.indexOf(SEPARATOR, from)) >= 0; from = at + SEPARATOR.length()) {
            strings.add(content.substring(from, at));
        }
        if (from < content.length()) {
            strings.add(content.substring(from)); // no separator after the last string: keep it anyway
        }
        return strings;
    }

    /** Reads an {@code .inp} file (strict UTF-8). */
    public static List<String> readInputs(Path inp) throws IOException {
        return parseInputs(Files.readString(inp, StandardCharsets.UTF_8));
    }

    /** The ids of one {@code .out} line: trimmed, then split on single spaces; blank → none. */
    public static int[] parseIds(String line) {
        String t = line.strip();
        if (t.isEmpty()) {
            return new int[0];
        }
        String[] parts = t.split(" ", -1);
        int[] ids = new int[parts.length];
        for (int i = 0; i < parts.length; i++) {
            try {
                ids[i] = Integer.parseInt(parts[i]);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("not a token id: '" + parts[i] + "' in line '" + line + "'");
            }
        }
        return ids;
    }

    /** The expected ids of an {@code .out} file, one array per line. */
    public static List<int[]> readExpected(Path out) throws IOException {
        String content = Files.readString(out, StandardCharsets.UTF_8);
        List<int[]> lines = new ArrayList<>();
        int from = 0;
        for (int at; (at = content.indexOf('\n', from)) >= 0; from = at + 1) {
            lines.add(parseIds(content.substring(from, at)));
        }
        if (from < content.length()) {
            lines.add(parseIds(content.substring(from))); // last line without its newline
        }
        return lines;
    }

    /** One {@code .out} line without its newline: {@code " 1 15043 3186"}, or {@code ""} for no ids. */
    public static String format(int[] ids) {
        StringBuilder sb = new StringBuilder();
        for (int id : ids) {
            sb.append(' ').append(id);
        }
        return sb.toString();
    }
}
