package io.trillium.sample;

import io.trillium.api.Samplers;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.lang.management.ManagementFactory;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** A warmed-up chain allocates nothing per call: scratch is grown once, per thread. */
class AllocationTest {
    @Test
    void steadyStateChainAllocatesNothing() {
        var bean = ManagementFactory.getThreadMXBean();
        Assumptions.assumeTrue(bean instanceof com.sun.management.ThreadMXBean);
        var mx = (com.sun.management.ThreadMXBean) bean;
        Assumptions.assumeTrue(mx.isThreadAllocatedMemorySupported() && mx.isThreadAllocatedMemoryEnabled());

        Sampler s = Samplers.topP(0.95).topK(40).minP(0.05).temperature(0.8)
                .repetitionPenalty(1.1).frequencyPenalty(0.2).presencePenalty(0.1).logitBias(7, -2f);
        int vocab = 32_000;
        float[] base = new float[vocab];
        Random rnd = new Random(11);
        for (int i = 0; i < vocab; i++) base[i] = (float) rnd.nextGaussian() * 4;
        float[] work = new float[vocab];
        TestContext ctx = TestContext.of(5, rnd.ints(100, 0, vocab).toArray());
        for (int i = 0; i < 2000; i++) { // warm up: scratch growth, JIT
            System.arraycopy(base, 0, work, 0, vocab);
            s.sample(work, ctx);
        }
        long tid = Thread.currentThread().threadId();
        long before = mx.getThreadAllocatedBytes(tid);
        for (int i = 0; i < 200; i++) {
            System.arraycopy(base, 0, work, 0, vocab);
            s.sample(work, ctx);
        }
        long allocated = mx.getThreadAllocatedBytes(tid) - before;
        // a small slack for the measurement itself; a per-call vocabulary array would be >= 25 MB here
        assertEquals(0, Math.max(0, allocated - 4096), "bytes allocated over 200 calls: " + allocated);
    }
}
