package io.trillium.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.trillium.chat.Message;
import io.trillium.fixtures.Fixtures;
import io.trillium.sample.LogitsProcessor;
import io.trillium.sample.Sampler;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/** The public API end to end on the tiny fixture models. */
class ApiTest {
    static Model qwen;
    static Model ds2;

    @BeforeAll
    static void load() {
        qwen = Trillium.load(model("qwen3moe-tiny-F32"), LoadOptions.builder().threads(2).contextLength(256).build());
        ds2 = Trillium.load(model("ds2-tiny-F32"), LoadOptions.builder().threads(2).contextLength(256).build());
    }

    @AfterAll
    static void close() {
        qwen.close();
        ds2.close();
    }

    static Path model(String name) {
        return Fixtures.models().resolve(name + ".gguf");
    }

    static JsonNode goldenP1(String name) throws IOException {
        for (JsonNode c : new ObjectMapper().readTree(Fixtures.models().resolve(name + ".golden.json").toFile()).get("cases")) {
            if (c.get("id").asText().equals("p1")) {
                return c;
            }
        }
        throw new AssertionError("no p1");
    }

    static int[] ints(JsonNode a) {
        int[] out = new int[a.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = a.get(i).asInt();
        }
        return out;
    }

    static Model byName(String name) {
        return name.startsWith("qwen") ? qwen : ds2;
    }

    /** A seeded test sampler: temperature 1 over the softmax, drawn with the context's generator. */
    static final Sampler SEEDED = (logits, ctx) -> {
        float max = Float.NEGATIVE_INFINITY;
        for (float l : logits) {
            max = Math.max(max, l);
        }
        double sum = 0;
        double[] p = new double[logits.length];
        for (int i = 0; i < p.length; i++) {
            p[i] = Math.exp(logits[i] - max);
            sum += p[i];
        }
        double u = ctx.random().nextDouble() * sum;
        for (int i = 0; i < p.length; i++) {
            u -= p[i];
            if (u <= 0) {
                return i;
            }
        }
        return p.length - 1;
    };

    @ParameterizedTest
    @ValueSource(strings = {"qwen3moe-tiny-F32", "ds2-tiny-F32"})
    void greedyReproducesGolden(String name) throws IOException {
        JsonNode c = goldenP1(name);
        int[] golden = ints(c.get("greedy_tokens"));
        try (Session s = byName(name).newSession()) {
            GenerationResult r = s.generate(GenerationRequest.builder().prompt(c.get("prompt").asText())
                    .maxTokens(golden.length).build());
            assertArrayEquals(golden, r.ids());
            assertEquals(FinishReason.LENGTH, r.finishReason());
            assertEquals(ints(c.get("prompt_tokens")).length, r.metrics().promptTokens());
            assertEquals(golden.length, r.metrics().generatedTokens());
        }
    }

    @Test
    void modelInfo() {
        ModelInfo i = ds2.info();
        assertEquals("deepseek2", i.architecture());
        assertTrue(i.experts() > 0 && i.expertsUsed() < i.experts());
        assertTrue(i.activeParameters() < i.totalParameters());
        assertTrue(i.activeBytes() < i.totalBytes());
        assertTrue(i.tensorTypes().containsKey("F32"));
        assertEquals(qwen.tokenizer().vocabSize(), qwen.info().vocabularySize());
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void concurrentSessionsMatchSolo(boolean seeded) throws Exception {
        String[] prompts = {"The quick brown fox", "Once upon a time", "def fibonacci(n):", "Hello world"};
        List<int[]> solo = new ArrayList<>();
        for (int i = 0; i < prompts.length; i++) {
            try (Session s = qwen.newSession()) {
                solo.add(s.generate(request(prompts[i], seeded, i)).ids());
            }
        }
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<int[]>> futures = new ArrayList<>();
            for (int i = 0; i < prompts.length; i++) {
                int k = i;
                futures.add(pool.submit(() -> {
                    try (Session s = qwen.newSession()) {
                        return s.generate(request(prompts[k], seeded, k)).ids();
                    }
                }));
            }
            for (int i = 0; i < prompts.length; i++) {
                assertArrayEquals(solo.get(i), futures.get(i).get(60, TimeUnit.SECONDS), "prompt " + i);
            }
        } finally {
            pool.shutdown();
        }
    }

    static GenerationRequest request(String prompt, boolean seeded, long seed) {
        GenerationRequest.Builder b = GenerationRequest.builder().prompt(prompt).maxTokens(12);
        return (seeded ? b.sampler(SEEDED).seed(seed) : b).build();
    }

    @Test
    void cancelFromAnotherThreadStopsWithinOneToken() throws Exception {
        try (Session s = qwen.newSession()) {
            CountDownLatch started = new CountDownLatch(1);
            CountDownLatch cancelled = new CountDownLatch(1);
            int[] afterCancel = {0};
            Thread canceller = new Thread(() -> {
                try {
                    started.await();
                    s.cancel();
                    cancelled.countDown();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            canceller.start();
            GenerationResult r = s.generate(GenerationRequest.builder().prompt("Once upon a time").maxTokens(200).build(),
                    t -> {
                        if (cancelled.getCount() == 0) {
                            afterCancel[0]++;
                        }
                        if (!t.isFlush()) {
                            started.countDown();
                            try {
                                cancelled.await();   // the next token starts after the cancel
                            } catch (InterruptedException e) {
                                Thread.currentThread().interrupt();
                            }
                        }
                    });
            canceller.join();
            assertEquals(FinishReason.CANCELLED, r.finishReason());
            assertTrue(r.ids().length <= 2, "tokens after cancel: " + r.ids().length);
            assertThrows(CancelledException.class, r::orThrowIfCancelled);
        }
    }

    @Test
    void cancellationTokenBeforeStart() {
        CancellationToken token = new CancellationToken();
        token.cancel();
        try (Session s = qwen.newSession()) {
            GenerationResult r = s.generate(GenerationRequest.builder().prompt("Hi").maxTokens(8).cancellation(token).build());
            assertEquals(FinishReason.CANCELLED, r.finishReason());
            assertEquals(0, r.ids().length);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"qwen3moe-tiny-F32", "ds2-tiny-F32"})
    void stopStringSplitAcrossTokens(String name) throws IOException {
        JsonNode c = goldenP1(name);
        int[] golden = ints(c.get("greedy_tokens"));
        Model m = byName(name);
        // find a boundary k where tokens k and k+1 both decode to non-empty text: stop = last char of k + first of k+1
        String full = null;
        String stop = null;
        int prefixLen = 0;
        for (int k = 2; k + 1 < golden.length && stop == null; k++) {
            String before = m.tokenizer().decode(java.util.Arrays.copyOf(golden, k + 1));
            String next = m.tokenizer().decode(java.util.Arrays.copyOf(golden, k + 2));
            if (before.length() >= 1 && next.length() > before.length() + 0 && !before.contains("\uFFFD")
                    && !next.contains("\uFFFD") && next.startsWith(before)) {
                String candidate = before.substring(before.length() - 1) + next.substring(before.length(), before.length() + 1);
                int at = next.indexOf(candidate);
                if (at == before.length() - 1) {
                    stop = candidate;
                    full = next;
                    prefixLen = at;
                }
            }
        }
        assertNotNull(stop, "no split boundary in the golden continuation");
        try (Session s = m.newSession()) {
            StringBuilder streamed = new StringBuilder();
            GenerationResult r = s.generate(GenerationRequest.builder().prompt(c.get("prompt").asText())
                    .maxTokens(golden.length).stop(stop).build(), t -> streamed.append(t.text()));
            assertEquals(FinishReason.STOP_STRING, r.finishReason());
            assertEquals(full.substring(0, prefixLen), r.text());
            assertEquals(r.text(), streamed.toString());
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"qwen3moe-tiny-F32", "ds2-tiny-F32"})
    void streamedPiecesConcatenateWithoutReplacementChars(String name) {
        Model m = byName(name);
        try (Session s = m.newSession()) {
            List<String> pieces = new ArrayList<>();
            GenerationResult r = s.generate(GenerationRequest.builder().prompt("Once upon a time").maxTokens(40)
                    .sampler(SEEDED).seed(7).build(), t -> pieces.add(t.text()));
            assertEquals(r.text(), String.join("", pieces));
            String decoded = m.tokenizer().decode(r.ids());
            if (r.finishReason() == FinishReason.LENGTH) {
                assertEquals(decoded, r.text());
            }
            long expected = decoded.chars().filter(ch -> ch == 0xFFFD).count();
            for (int i = 0; i < pieces.size() - 1; i++) {
                // only a final flush may carry a replacement char from a truly incomplete tail
                if (expected == 0) {
                    assertFalse(pieces.get(i).contains("\uFFFD"), "piece " + i + ": " + pieces.get(i));
                }
            }
        }
    }

    @Test
    void closedSessionAndModelThrow() {
        Model m = Trillium.load(model("llama-tiny-F32"), LoadOptions.builder().threads(1).contextLength(64).build());
        Session s = m.newSession();
        s.close();
        assertThrows(IllegalStateException.class, () -> s.generate(GenerationRequest.builder().prompt("a").build()));
        Session s2 = m.newSession();
        m.close();
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> s2.generate(GenerationRequest.builder().prompt("a").build()));
        assertTrue(e.getMessage().contains("closed"));
        assertThrows(IllegalStateException.class, m::newSession);
        assertThrows(IllegalStateException.class, m::info);
        m.close();   // idempotent
    }

    @Test
    void contextOverflow() {
        try (Session s = qwen.newSession(16)) {
            ContextOverflowException e = assertThrows(ContextOverflowException.class,
                    () -> s.generate(GenerationRequest.builder().prompt("The quick brown fox").maxTokens(15).build()));
            assertTrue(e.getMessage().contains("15") && e.getMessage().contains("16"), e.getMessage());
            assertEquals(16, e.capacity());
        }
    }

    @Test
    void missingFileAndBadFormat() throws IOException {
        assertThrows(ResourceException.class, () -> Trillium.load(Path.of("/nonexistent/x.gguf"), LoadOptions.defaults()));
        Path bad = java.nio.file.Files.createTempFile("bad", ".gguf");
        try {
            java.nio.file.Files.writeString(bad, "this is not gguf at all, not at all");
            assertThrows(ModelFormatException.class, () -> Trillium.load(bad, LoadOptions.defaults()));
        } finally {
            java.nio.file.Files.delete(bad);
        }
    }

    @Test
    void seededRunReproducibleAcrossThreadCounts() {
        int[][] out = new int[2][];
        for (int t = 1; t <= 2; t++) {
            try (Model m = Trillium.load(model("ds2-tiny-F32"), LoadOptions.builder().threads(t).contextLength(128).build());
                 Session s = m.newSession()) {
                out[t - 1] = s.generate(GenerationRequest.builder().prompt("Once upon a time").maxTokens(16)
                        .sampler(SEEDED).seed(42).build()).ids();
            }
        }
        assertArrayEquals(out[0], out[1]);
    }

    @Test
    void multiTurnChatReusesCache() {
        List<Message> turn1 = List.of(Message.system("You are terse."), Message.user("Name a colour."));
        try (Session s = qwen.newSession(); Session fresh = qwen.newSession()) {
            GenerationResult r1 = s.generate(GenerationRequest.builder().messages(turn1).maxTokens(6).build());
            List<Message> turn2 = new ArrayList<>(turn1);
            turn2.add(Message.assistant(r1.text()));
            turn2.add(Message.user("Another one."));
            GenerationRequest req2 = GenerationRequest.builder().messages(turn2).maxTokens(6).build();
            GenerationResult r2 = s.generate(req2);
            GenerationResult f2 = fresh.generate(req2);
            assertEquals(0, f2.metrics().cachedPromptTokens());
            assertTrue(r2.metrics().cachedPromptTokens() > 0, "no reuse");
            assertTrue(r2.metrics().promptTokens() < f2.metrics().promptTokens());
            assertEquals(f2.metrics().promptTokens(), r2.metrics().promptTokens() + r2.metrics().cachedPromptTokens());
            assertArrayEquals(f2.ids(), r2.ids());
        }
    }

    @Test
    void idPromptNotPrefixResets() {
        try (Session s = qwen.newSession(); Session fresh = qwen.newSession()) {
            s.generate(GenerationRequest.builder().prompt("Once upon a time").maxTokens(4).build());
            GenerationRequest other = GenerationRequest.builder().prompt("The quick brown fox").maxTokens(4).build();
            GenerationResult r = s.generate(other);
            assertEquals(0, r.metrics().cachedPromptTokens());
            assertArrayEquals(fresh.generate(other).ids(), r.ids());
        }
    }

    /** Forces the generated tokens, step by step (a logits processor masking everything else). */
    static LogitsProcessor force(int... ids) {
        return (logits, ctx) -> {
            int want = ids[Math.min(ctx.generatedCount(), ids.length - 1)];
            java.util.Arrays.fill(logits, Float.NEGATIVE_INFINITY);
            logits[want] = 0;
        };
    }

    /** The id of the single-byte token for {@code b} (byte-level vocabulary). */
    static int byteToken(Model m, int b) {
        for (int id = 0; id < m.tokenizer().vocabSize(); id++) {
            byte[] t = m.tokenizer().tokenBytes(id);
            if (t.length == 1 && (t[0] & 0xFF) == b) {
                return id;
            }
        }
        throw new AssertionError("no byte token " + b);
    }

    @Test
    void splitUtf8IsHeldBackAndStopStringAcrossIt() {
        int c3 = byteToken(qwen, 0xC3);
        int a9 = byteToken(qwen, 0xA9);
        int x = byteToken(qwen, 'x');
        int[] forced = {x, c3, a9, x, c3, a9, x};
        try (Session s = qwen.newSession()) {
            List<Token> tokens = new ArrayList<>();
            GenerationResult r = s.generate(GenerationRequest.builder().prompt("Hi").maxTokens(forced.length)
                    .logitsProcessor(force(forced)).build(), tokens::add);
            assertArrayEquals(forced, r.ids());
            assertEquals("x\u00e9x\u00e9x", r.text());
            assertEquals("", tokens.get(1).text());          // 0xC3 alone is held back
            assertEquals("\u00e9", tokens.get(2).text());
            assertEquals(0.0, tokens.get(0).logprob(), 1e-9);  // forced: probability 1
            for (Token t : tokens) {
                assertFalse(t.text().contains("\uFFFD"));
            }
            // a stop string that starts inside one token and ends in a later one, split mid-character
            List<Token> streamed = new ArrayList<>();
            GenerationResult stopped = s.generate(GenerationRequest.builder().prompt("Hi").maxTokens(forced.length)
                    .logitsProcessor(force(forced)).stop("\u00e9x\u00e9").build(), streamed::add);
            assertEquals(FinishReason.STOP_STRING, stopped.finishReason());
            assertEquals("x", stopped.text());
            assertEquals(6, stopped.ids().length);
            StringBuilder joined = new StringBuilder();
            streamed.forEach(t -> joined.append(t.text()));
            assertEquals("x", joined.toString());
        }
    }

    @Test
    void endOfGenerationTokenStops() {
        int eos = qwen.endOfGenerationIds()[0];
        int x = byteToken(qwen, 'x');
        try (Session s = qwen.newSession()) {
            GenerationResult r = s.generate(GenerationRequest.builder().prompt("Hi").maxTokens(10)
                    .logitsProcessor(force(x, x, eos)).build());
            assertEquals(FinishReason.STOP_TOKEN, r.finishReason());
            assertArrayEquals(new int[] {x, x}, r.ids());
            assertEquals("xx", r.text());
        }
    }
}
