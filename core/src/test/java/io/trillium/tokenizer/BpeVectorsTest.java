package io.trillium.tokenizer;

import io.trillium.fixtures.Fixtures;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** Every BPE vocabulary in the fixtures encodes llama.cpp's 46 test strings to exactly its ids. */
class BpeVectorsTest {

    @ParameterizedTest
    @ValueSource(strings = {"ggml-vocab-gpt-2.gguf", "ggml-vocab-deepseek-coder.gguf", "ggml-vocab-deepseek-llm.gguf",
            "kimi-bpe4k.vocab.gguf", "kimi-bpe4k-tiktoken"})
    void encodesEveryVectorExactly(String name) throws Exception {
        Path path = Fixtures.tokenizer().resolve(name);
        Tokenizer tok = Tokenizers.load(path);
        TokenizerVectors.Cases v = Files.isDirectory(path)
                ? TokenizerVectors.read(path.resolve("vectors.inp"), path.resolve("vectors.out"))
                : TokenizerVectors.read(Path.of(path + ".inp"), Path.of(path + ".out"));
        int pass = 0;
        List<String> failures = new ArrayList<>();
        for (int i = 0; i < v.texts().size(); i++) {
            String s = v.texts().get(i);
            int[] got = tok.encode(s, false, false);
            if (Arrays.equals(got, v.ids().get(i))) {
                pass++;
            } else {
                failures.add("#" + (i + 1) + " '" + s + "': expected " + Arrays.toString(v.ids().get(i))
                        + " got " + Arrays.toString(got));
            }
            assertEquals(s, tok.decode(got), "round trip of #" + (i + 1));
        }
        System.out.printf("%s: %d/%d vectors pass (%s)%n", name, pass, v.texts().size(), tok);
        assertEquals(v.texts().size(), pass, String.join("\n", failures));
    }
}
