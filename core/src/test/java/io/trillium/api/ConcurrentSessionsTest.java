package io.trillium.api;

import io.trillium.fixtures.Fixtures;
import io.trillium.quant.Numerics;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Sessions generating at the same time through the API: their decode steps run as batched passes
 * ({@link ForwardQueue}), and each session's tokens, greedy or seeded, are exactly those it produces alone; one
 * cancelled midway leaves the others' tokens as they were.
 */
class ConcurrentSessionsTest {

    private static GenerationRequest request(int i) {
        int[] prompt = new int[3 + (5 * i) % 9];
        for (int j = 0; j < prompt.length; j++) {
            prompt[j] = 1 + (37 * i + 11 * j) % 300;
        }
        GenerationRequest.Builder b = GenerationRequest.builder().prompt(prompt).maxTokens(10 + (7 * i) % 13);
        return (i % 2 == 0 ? b : b.sampler(ApiTest.SEEDED).seed(100 + i)).build();
    }

    @ParameterizedTest(name = "{0} sessions")
    @ValueSource(ints = {2, 4, 8})
    void eachSessionGeneratesWhatItGeneratesAlone(int sessions) throws Exception {
        try (Model m = Trillium.load(Fixtures.models().resolve("ds2-tiny-Q8_0.gguf"),
                LoadOptions.builder().threads(2).numerics(Numerics.DEFAULT).contextLength(64).build())) {
            List<int[]> alone = new ArrayList<>();
            for (int i = 0; i < sessions; i++) {
                try (Session s = m.newSession()) {
                    alone.add(s.generate(request(i)).ids());
                }
            }
            long[] before = m.passCounts();
            List<GenerationResult> together = together(m, sessions, -1);
            long[] after = m.passCounts();
            for (int i = 0; i < sessions; i++) {
                assertArrayEquals(alone.get(i), together.get(i).ids(), sessions + " sessions: session " + i);
            }
            long steps = after[1] - before[1], passes = after[0] - before[0];
            assertTrue(after[2] >= 2 && passes < steps, "the sessions' steps never shared a pass: " + passes
                    + " passes for " + steps + " decode steps");
        }
    }

    @Test
    void aSessionCancelledMidwayLeavesTheOthersAsTheyWere() throws Exception {
        int sessions = 4;
        try (Model m = Trillium.load(Fixtures.models().resolve("ds2-tiny-Q8_0.gguf"),
                LoadOptions.builder().threads(2).numerics(Numerics.DEFAULT).contextLength(64).build())) {
            List<int[]> alone = new ArrayList<>();
            for (int i = 0; i < sessions; i++) {
                try (Session s = m.newSession()) {
                    alone.add(s.generate(request(i)).ids());
                }
            }
            List<GenerationResult> together = together(m, sessions, 1);
            assertEquals(FinishReason.CANCELLED, together.get(1).finishReason());
            assertTrue(together.get(1).ids().length < alone.get(1).length, "cancelled after 3 tokens");
            for (int i = 0; i < sessions; i++) {
                if (i != 1) {
                    assertArrayEquals(alone.get(i), together.get(i).ids(), "session " + i + " beside a cancelled one");
                }
            }
        }
    }

    /** {@code sessions} sessions started together on their own threads; session {@code cancel} stops after 3 tokens. */
    private static List<GenerationResult> together(Model m, int sessions, int cancel) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(sessions);
        CyclicBarrier start = new CyclicBarrier(sessions);
        try {
            List<Future<GenerationResult>> futures = new ArrayList<>();
            for (int i = 0; i < sessions; i++) {
                int id = i;
                futures.add(pool.submit(() -> {
                    try (Session s = m.newSession()) {
                        start.await(30, TimeUnit.SECONDS);
                        int[] count = {0};
                        return s.generate(request(id), t -> {
                            if (id == cancel && ++count[0] == 3) {
                                s.cancel();
                            }
                        });
                    }
                }));
            }
            List<GenerationResult> results = new ArrayList<>();
            for (Future<GenerationResult> f : futures) {
                results.add(f.get(120, TimeUnit.SECONDS));
            }
            return results;
        } finally {
            pool.shutdownNow();
        }
    }
}
