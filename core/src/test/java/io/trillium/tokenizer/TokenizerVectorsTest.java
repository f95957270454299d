package io.trillium.tokenizer;

import io.trillium.fixtures.Fixtures;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

class TokenizerVectorsTest {

    @Test
    void parsesStringsAndDropsTheEmptyTail() {
        String sep = TokenizerVectors.SEPARATOR;
        assertEquals(List.of("a b", "", " ", "\n\n"),
                TokenizerVectors.parseInputs("a b" + sep + sep + " " + sep + "\n\n" + sep));
        assertEquals(List.of(), TokenizerVectors.parseInputs(""));
        assertEquals(List.of("x", "tail"), TokenizerVectors.parseInputs("x" + sep + "tail"));
    }

    @Test
    void idsLinesRoundTrip() {
        assertArrayEquals(new int[]{1052, 207, 19}, TokenizerVectors.parseIds(" 1052 207 19"));
        assertArrayEquals(new int[0], TokenizerVectors.parseIds(""));
        assertEquals(" 1052 207 19", TokenizerVectors.format(new int[]{1052, 207, 19}));
        assertEquals("", TokenizerVectors.format(new int[0]));
        assertThrows(IllegalArgumentException.class, () -> TokenizerVectors.parseIds(" 1  2"));
    }

    @Test
    void everyFixtureFileHas46StringsAndLines() throws IOException {
        for (String v : List.of("ggml-vocab-llama-spm.gguf", "ggml-vocab-gpt-2.gguf", "ggml-vocab-deepseek-llm.gguf",
                "ggml-vocab-deepseek-coder.gguf")) {
            Path dir = Fixtures.tokenizer();
            List<String> inputs = TokenizerVectors.readInputs(dir.resolve(v + ".inp"));
            List<int[]> expected = TokenizerVectors.readExpected(dir.resolve(v + ".out"));
            assertEquals(46, inputs.size(), v);
            assertEquals(46, expected.size(), v);
            assertEquals("", inputs.get(2), v + ": test 3 is the empty string");
            assertEquals(" ", inputs.get(3), v + ": test 4 is one space");
            assertEquals("\n\n", inputs.get(8), v + ": test 9");
            // Formatting the parsed ids gives the file back.
            StringBuilder sb = new StringBuilder();
            expected.forEach(ids -> sb.append(TokenizerVectors.format(ids)).append('\n'));
            assertEquals(Files.readString(dir.resolve(v + ".out"), StandardCharsets.UTF_8), sb.toString(), v);
        }
    }
}
