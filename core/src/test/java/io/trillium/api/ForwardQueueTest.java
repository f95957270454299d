package io.trillium.api;

import io.trillium.model.LanguageModel;
import io.trillium.model.ModelConfig;
import io.trillium.tokenizer.Tokenizer;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link ForwardQueue} on a stand-in model: every step runs exactly once and gets its own logits, the decoding
 * sessions' steps share passes, one state's fault in a batch fails only that step, and a closed queue refuses.
 */
class ForwardQueueTest {

    /** A state whose logits say which state and token made them; state "bad" fails its forward. */
    private record Named(String name) implements LanguageModel.State {
        public int position() {
            return 0;
        }

        public int capacity() {
            return 1 << 20;
        }

        public void reset() {
        }
    }

    private static final class Stub implements LanguageModel {
        final List<Integer> batchSizes = new ArrayList<>();
        int forwards;

        public ModelConfig config() {
            throw new UnsupportedOperationException();
        }

        public Tokenizer tokenizer() {
            throw new UnsupportedOperationException();
        }

        public State newState(int contextLength) {
            throw new UnsupportedOperationException();
        }

        public float[] forward(State state, int[] tokens) {
            forwards++;
            if (((Named) state).name().equals("bad")) {
                throw new IllegalArgumentException("bad state");
            }
            return new float[] {((Named) state).name().hashCode(), tokens[tokens.length - 1], tokens.length};
        }

        @Override
        public float[][] forwardEach(State[] states, int[] tokens) {
            batchSizes.add(states.length);
            for (State s : states) {
                if (((Named) s).name().equals("bad")) {
                    throw new IllegalArgumentException("a bad state in the batch");
                }
            }
            float[][] out = new float[states.length][];
            for (int i = 0; i < states.length; i++) {
                out[i] = new float[] {((Named) states[i]).name().hashCode(), tokens[i], 1};
            }
            return out;
        }

        public void close() {
        }
    }

    @Test
    void decodingSessionsSharePassesAndEachGetsItsOwnLogits() throws Exception {
        Stub lm = new Stub();
        ForwardQueue q = new ForwardQueue(lm);
        int sessions = 6, steps = 40;
        ExecutorService pool = Executors.newFixedThreadPool(sessions);
        CountDownLatch start = new CountDownLatch(1);
        // every session decoding before any takes its first step: a stand-in step is so short that otherwise one
        // session could finish its 40 before another began
        java.util.concurrent.CyclicBarrier decoding = new java.util.concurrent.CyclicBarrier(sessions);
        try {
            List<Future<Integer>> done = new ArrayList<>();
            for (int i = 0; i < sessions; i++) {
                String name = "s" + i;
                done.add(pool.submit(() -> {
                    ForwardQueue.Step step = new ForwardQueue.Step(new Named(name), new float[3]);
                    start.await();
                    float[] prompt = q.forward(step, new int[] {1, 2, 3});
                    assertEquals(3, prompt[2], "a prompt in one pass");
                    q.decoding(true);
                    try {
                        decoding.await(30, TimeUnit.SECONDS);
                        for (int k = 0; k < steps; k++) {
                            float[] l = q.forward(step, new int[] {k});
                            assertEquals(name.hashCode(), l[0], name + ": another state's logits");
                            assertEquals(k, l[1], name + ": another step's logits");
                        }
                    } finally {
                        q.decoding(false);
                    }
                    return steps;
                }));
            }
            start.countDown();
            for (Future<Integer> f : done) {
                assertEquals(steps, f.get(60, TimeUnit.SECONDS));
            }
        } finally {
            pool.shutdownNow();
        }
        long[] c = q.counts();
        assertEquals(sessions * steps, c[1], "every decode step ran exactly once");
        assertTrue(c[2] >= 2 && c[0] < c[1], "steps shared passes: " + c[0] + " passes, widest " + c[2]);
    }

    @Test
    void oneBadStateFailsOnlyItsOwnStep() throws Exception {
        Stub lm = new Stub();
        ForwardQueue q = new ForwardQueue(lm);
        ForwardQueue.Step good = new ForwardQueue.Step(new Named("good"), new float[3]);
        ForwardQueue.Step bad = new ForwardQueue.Step(new Named("bad"), new float[3]);
        q.decoding(true);
        q.decoding(true);
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            Future<float[]> g = pool.submit(() -> q.forward(good, new int[] {7}).clone());
            Future<Throwable> b = pool.submit(() -> {
                try {
                    q.forward(bad, new int[] {8});
                    return null;
                } catch (Throwable t) {
                    return t;
                }
            });
            assertEquals(7, g.get(30, TimeUnit.SECONDS)[1]);
            assertInstanceOf(IllegalArgumentException.class, b.get(30, TimeUnit.SECONDS));
            assertEquals("bad state", b.get().getMessage(), "the step's own error, not the batch's");
        } finally {
            pool.shutdownNow();
        }
        assertTrue(lm.batchSizes.contains(2), "the two steps were not tried as one batch: " + lm.batchSizes);
        q.decoding(false);
        q.decoding(false);
        q.close(() -> { });
        IllegalStateException closed = assertThrows(IllegalStateException.class,
                () -> q.forward(good, new int[] {1}));
        assertTrue(closed.getMessage().contains("closed"), closed.getMessage());
        assertThrows(IllegalStateException.class, () -> q.forward(good, new int[] {1, 2}));
    }
}
