package io.trillium.json;

import io.trillium.fixtures.JsonValidator;
import io.trillium.fixtures.TestSchemas;
import io.trillium.fixtures.Fixtures;
import io.trillium.tokenizer.Tokenizer;
import io.trillium.tokenizer.Tokenizers;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.Arrays;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Token masks over real vocabularies (deepseek-llm's 102k byte-level BPE, llama's SentencePiece with
 * byte fallback): every token the mask allows continues the document when checked byte by byte on its
 * own, a sample of the tokens it refuses does not or cannot finish in time, and random token walks
 * under a token budget end in complete documents the independent validator accepts.
 */
class JsonConstraintTest {

    @ParameterizedTest
    @ValueSource(strings = {"ggml-vocab-deepseek-llm.gguf", "ggml-vocab-llama-spm.gguf"})
    void randomTokenWalksFinishValidDocumentsWithinTheBudget(String vocabFile) throws IOException {
        Tokenizer tok = Tokenizers.load(Fixtures.tokenizer().resolve(vocabFile));
        VocabIndex vocab = VocabIndex.of(tok);
        int eos = tok.eos().orElseThrow();
        SplittableRandom random = new SplittableRandom(11);
        long maskNanos = 0;
        int masks = 0;
        for (String text : TestSchemas.all()) {
            JsonSchema schema = JsonSchema.compile(text);
            JsonValidator validator = new JsonValidator(text);
            for (int walk = 0; walk < 3; walk++) {
                int maxTokens = schema.minBytes() + (walk == 0 ? 0 : random.nextInt(40));
                JsonConstraint c = new JsonConstraint(schema, vocab, new int[]{eos});
                c.begin(maxTokens);
                ByteArrayOutputStream doc = new ByteArrayOutputStream();
                float[] logits = new float[tok.vocabSize()];
                int generated = 0;
                boolean ended = false;
                while (generated < maxTokens && !c.finished()) {
                    Arrays.fill(logits, 0f);
                    long t0 = System.nanoTime();
                    c.mask(logits, maxTokens - generated);
                    maskNanos += System.nanoTime() - t0;
                    masks++;
                    int[] allowed = java.util.stream.IntStream.range(0, logits.length).filter(i -> logits[i] == 0f).toArray();
                    if (walk == 1 && generated == 1) {
                        checkAgainstBytes(c, schema, vocab, tok, doc.toByteArray(), maxTokens - generated, random);
                    }
                    int id = allowed[random.nextInt(allowed.length)];
                    if (id == eos) {
                        assertTrue(c.complete());
                        ended = true;
                        break;
                    }
                    c.accept(id);
                    doc.writeBytes(tok.tokenBytes(id));
                    generated++;
                }
                assertTrue(ended || c.complete(), () -> "incomplete after " + maxTokens + " tokens: " + doc);
                validator.assertValid(doc.toByteArray());
            }
        }
        System.out.printf("%s: %d tokens indexed, %.2f ms per mask (%d masks)%n", vocabFile, vocab.size(),
                maskNanos / 1e6 / masks, masks);
    }

    /** The mask's verdict on each token equals stepping the token's bytes through the matcher alone. */
    private static void checkAgainstBytes(JsonConstraint c, JsonSchema schema, VocabIndex vocab, Tokenizer tok,
                                          byte[] prefix, int tokensLeft, SplittableRandom random) {
        JsonMatcher.Out out = new JsonMatcher.Out();
        JsonMatcher.Config[] start = JsonMatcher.start(schema);
        for (byte b : prefix) {
            start = JsonMatcher.advance(start, b & 0xff, out);
        }
        int checked = 0;
        for (int i = 0; i < vocab.size(); i++) {
            int id = vocab.ids[i];
            if (!c.allowed(id) && random.nextInt(20) != 0) {
                continue;   // all allowed tokens, a sample of the refused ones
            }
            JsonMatcher.Config[] s = start;
            for (byte b : tok.tokenBytes(id)) {
                s = s == null ? null : JsonMatcher.advance(s, b & 0xff, out);
            }
            boolean expected = s != null && JsonMatcher.cost(s) <= tokensLeft - 1;
            assertEquals(expected, c.allowed(id), () -> "token " + id + " <" + tok.decode(id) + "> after <"
                    + new String(prefix, java.nio.charset.StandardCharsets.UTF_8) + ">");
            checked++;
        }
        assertTrue(checked > 0);
        assertFalse(c.allowed(tok.eos().orElseThrow()) && !c.complete());
    }
}
