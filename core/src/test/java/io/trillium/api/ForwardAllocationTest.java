package io.trillium.api;

import io.trillium.fixtures.Fixtures;
import io.trillium.model.LanguageModel;
import io.trillium.quant.Numerics;
import org.junit.jupiter.api.Test;

import java.lang.management.ManagementFactory;

import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The API's forward pass adds no allocation to the model's decode step: the logits go into the session's own
 * buffer (they were cloned per token: the vocabulary's floats, 640 KiB per token for Kimi K2). Measured as the
 * difference between decode rounds through {@link Model#forward} and rounds straight through the engine's
 * model, alternated in one JVM on the calling thread (where the API's part runs), so that whatever the
 * model's own step allocates while the JIT settles counts on both sides; the model's step itself is
 * {@code DecodeAllocationTest}'s.
 */
class ForwardAllocationTest {
    private static final int TOKENS = 160;
    private static final int ROUNDS = 16;

    @Test
    void theApiAddsNoAllocationPerDecodedToken() throws Exception {
        var mx = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        if (!mx.isThreadAllocatedMemoryEnabled()) {
            mx.setThreadAllocatedMemoryEnabled(true);
        }
        try (Model m = Trillium.load(Fixtures.models().resolve("ds2-tiny-Q4_K_M.gguf"),
                LoadOptions.builder().threads(2).numerics(Numerics.EXACT).contextLength(TOKENS + 1).build());
             Session s = m.newSession()) {
            LanguageModel lm = m.languageModel();
            float[] logits = new float[m.vocab()];
            ForwardQueue.Step step = m.newStep(s.state(), logits);
            long tid = Thread.currentThread().threadId();
            double[] best = {Double.MAX_VALUE, Double.MAX_VALUE};   // through the API, straight
            StringBuilder rounds = new StringBuilder();
            for (int round = 0; round < 2 * ROUNDS; round++) {
                boolean api = round % 2 == 0;
                int[] one = {1};
                s.state().reset();
                long before = mx.getThreadAllocatedBytes(tid);
                for (int i = 0; i < TOKENS; i++) {
                    float[] got = api ? m.forward(step, one) : lm.forward(s.state(), one);
                    one[0] = (int) ((i * 7919L + (got[i % got.length] > 0 ? 1 : 0)) % got.length);
                }
                double perToken = (double) (mx.getThreadAllocatedBytes(tid) - before) / TOKENS;
                best[api ? 0 : 1] = Math.min(best[api ? 0 : 1], perToken);
                rounds.append(String.format(" %s %.1f", api ? "api" : "model", perToken));
            }
            System.out.println("decode step, bytes per token on the calling thread, per round:" + rounds);
            double logitsCopy = 4.0 * m.vocab();
            assertTrue(best[0] - best[1] < logitsCopy / 2, "through the API a decoded token allocates "
                    + best[0] + " bytes, straight through the model " + best[1] + " (a copy of the logits: "
                    + logitsCopy + "); rounds:" + rounds);
        }
    }

    @Test
    void theLogitsAreTheModelsAndLandInTheGivenBuffer() throws Exception {
        try (Model m = Trillium.load(Fixtures.models().resolve("ds2-tiny-Q4_K_M.gguf"),
                LoadOptions.builder().threads(1).numerics(Numerics.EXACT).contextLength(16).build());
             Session a = m.newSession(); Session b = m.newSession()) {
            float[] buf = new float[m.vocab()];
            float[] got = m.forward(m.newStep(a.state(), buf), new int[] {1, 7, 42});
            assertSame(buf, got, "the logits come back in the caller's buffer");
            float[] direct = m.languageModel().forward(b.state(), new int[] {1, 7, 42});
            // (bit-identical once compiled; the first calls may run interpreted: the JIT-rounding allowance)
            assertTrue(Fixtures.relL2(direct, buf) <= 1e-6, "the model's logits: rel-L2 " + Fixtures.relL2(direct, buf));
        }
    }
}
