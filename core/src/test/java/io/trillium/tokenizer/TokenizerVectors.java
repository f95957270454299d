package io.trillium.tokenizer;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Pattern;

/** llama.cpp's tokenizer test vectors: {@code X.inp} strings and {@code X.out} expected ids (fixtures README 1). */
record TokenizerVectors(List<String> texts, List<int[]> ids) {
    static final String SEPARATOR = "\n__ggml_vocab_test__\n";

    static TokenizerVectors read(Path inp, Path out) throws IOException {
        String all = Files.readString(inp, StandardCharsets.UTF_8);
        List<String> texts = new ArrayList<>(Arrays.asList(all.split(Pattern.quote(SEPARATOR), -1)));
        if (!texts.getLast().isEmpty()) {
            throw new IllegalStateException(inp + " does not end with the separator");
        }
        texts.removeLast();
        List<int[]> ids = new ArrayList<>();
        for (String line : Files.readAllLines(out, StandardCharsets.UTF_8)) {
            String t = line.trim();
            ids.add(t.isEmpty() ? new int[0] : Arrays.stream(t.split(" ")).mapToInt(Integer::parseInt).toArray());
        }
        if (ids.size() != texts.size()) {
            throw new IllegalStateException(out + " has " + ids.size() + " lines for " + texts.size() + " strings");
        }
        return new TokenizerVectors(texts, ids);
    }
}
