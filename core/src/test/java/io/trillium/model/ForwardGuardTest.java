package io.trillium.model;

import io.trillium.backend.CpuBackend;
import io.trillium.fixtures.Fixtures;
import io.trillium.quant.Numerics;
import io.trillium.tier.ExpertPlacement;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Two threads forwarding through one model (each with its own state) at once: one of them is told so
 * (IllegalStateException), nobody gets silently wrong logits, and the model serves on afterwards.
 */
class ForwardGuardTest {

    @ParameterizedTest
    @ValueSource(strings = {"ds2-tiny-Q8_0", "qwen3moe-tiny-F32"})
    void aSecondConcurrentForwardFailsClearly(String name) throws Exception {
        int[] prompt = new int[96];
        for (int i = 0; i < prompt.length; i++) {
            prompt[i] = (i * 31 + 7) % 200;
        }
        // token by token: a long pass for the other thread to run into
        ForwardOptions slow = ForwardOptions.DEFAULT.withBatchedPrefill(false);
        try (LanguageModel m = Models.load(Fixtures.models().resolve(name + ".gguf"),
                new CpuBackend(2, Numerics.EXACT), ExpertPlacement.mapped(), slow)) {
            float[] want;
            try (LanguageModel.State s = m.newState(128)) {
                want = m.forward(s, prompt).clone();
            }
            AtomicInteger refused = new AtomicInteger();
            AtomicBoolean longDone = new AtomicBoolean();
            AtomicReference<Throwable> failure = new AtomicReference<>();
            AtomicReference<float[]> longLogits = new AtomicReference<>();
            CountDownLatch started = new CountDownLatch(1);
            Thread longPass = Thread.ofPlatform().start(() -> {
                try (LanguageModel.State s = m.newState(128)) {
                    long deadline = System.nanoTime() + 60_000_000_000L;
                    for (int pass = 0; pass < 5 && System.nanoTime() < deadline; ) {   // a window of 5 passes
                        started.countDown();
                        s.reset();
                        try {
                            longLogits.set(m.forward(s, prompt).clone());
                            pass++;
                        } catch (IllegalStateException e) {   // a short pass got in first: try again
                            refused.incrementAndGet();
                        }
                    }
                } catch (Throwable t) {
                    failure.set(t);
                } finally {
                    longDone.set(true);
                }
            });
            started.await();
            try (LanguageModel.State s = m.newState(4)) {
                while (!longDone.get()) {
                    s.reset();
                    try {
                        m.forward(s, new int[] {1});
                    } catch (IllegalStateException e) {
                        refused.incrementAndGet();
                    }
                    java.util.concurrent.locks.LockSupport.parkNanos(200_000);   // room for the long pass to start
                }
            }
            longPass.join();
            assertNull(failure.get(), () -> "the long pass failed: " + failure.get());
            assertTrue(refused.get() > 0, "no forward pass was refused while another ran");
            // (the JIT-rounding allowance: the first pass ran partly interpreted)
            double rel = Fixtures.relL2(want, longLogits.get());
            assertTrue(rel <= 1e-6, "the pass that ran gives the logits it gives alone: rel-L2 " + rel);
            try (LanguageModel.State s = m.newState(128)) {
                double again = Fixtures.relL2(want, m.forward(s, prompt));
                assertTrue(again <= 1e-6, "the model serves on: rel-L2 " + again);
            }
        }
    }
}
