package io.trillium.backend;

import org.junit.jupiter.api.Test;

import java.util.concurrent.atomic.AtomicIntegerArray;

import static org.junit.jupiter.api.Assertions.*;

class WorkerPoolTest {

    @Test
    void parallelForCoversEveryIndexExactlyOnce() {
        try (WorkerPool pool = new WorkerPool(3)) {
            for (int n : new int[] {0, 1, 2, 7, 100, 1001, 65_537}) {
                for (int grain : new int[] {1, 16, 1000}) {
                    AtomicIntegerArray hits = new AtomicIntegerArray(n);
                    pool.parallelFor(n, grain, (from, to) -> {
                        for (int i = from; i < to; i++) {
                            hits.incrementAndGet(i);
                        }
                    });
                    for (int i = 0; i < n; i++) {
                        assertEquals(1, hits.get(i), "n " + n + " grain " + grain + " index " + i);
                    }
                }
            }
        }
    }

    @Test
    void manyLoopsInARow() {
        try (WorkerPool pool = new WorkerPool(2)) {
            long[] sums = new long[64];
            for (int round = 0; round < 2000; round++) {
                java.util.Arrays.fill(sums, 0);
                pool.parallelFor(64, 1, (from, to) -> {
                    for (int i = from; i < to; i++) {
                        sums[i] += i;
                    }
                });
                for (int i = 0; i < 64; i++) {
                    assertEquals(i, sums[i]);
                }
            }
        }
    }

    @Test
    void exceptionsPropagateAndThePoolStaysUsable() {
        try (WorkerPool pool = new WorkerPool(3)) {
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> pool.parallelFor(100, 1, (from, to) -> {
                        if (from <= 50 && 50 < to) {
                            throw new IllegalStateException("boom at 50");
                        }
                    }));
            assertEquals("boom at 50", e.getMessage());
            AssertionError err = assertThrows(AssertionError.class,
                    () -> pool.parallelFor(100, 1, (from, to) -> {
                        throw new AssertionError("error");
                    }));
            assertEquals("error", err.getMessage());

            AtomicIntegerArray hits = new AtomicIntegerArray(100);
            pool.parallelFor(100, 1, (from, to) -> {
                for (int i = from; i < to; i++) {
                    hits.incrementAndGet(i);
                }
            });
            for (int i = 0; i < 100; i++) {
                assertEquals(1, hits.get(i));
            }
        }
    }

    @Test
    void closedPoolAndBadSizesAreRefused() {
        WorkerPool pool = new WorkerPool(2);
        pool.close();
        assertThrows(IllegalStateException.class, () -> pool.parallelFor(10, 1, (a, b) -> { }));
        assertThrows(IllegalArgumentException.class, () -> new WorkerPool(0));
    }

    /** One task object reused with new parameters per loop, as the backend does: no chunk of a loop runs with another's. */
    @Test
    void aReusedTaskNeverSeesAnotherLoopsParameters() {
        final class Reused implements WorkerPool.RangeTask {
            int loop;
            int n;
            int[] owner;      // owner[i] = loop that covered index i
            volatile boolean bad;

            @Override
            public void run(int from, int to) {
                if (to > n) {
                    bad = true;
                }
                for (int i = from; i < to; i++) {
                    if (owner[i] != loop - 1) {
                        bad = true;
                    }
                    owner[i] = loop;
                }
            }
        }
        try (WorkerPool pool = new WorkerPool(3)) {
            Reused t = new Reused();
            int[][] owners = new int[200][];
            for (int loop = 1; loop <= 20_000; loop++) {
                int n = 1 + (loop * 37) % 200;
                if (owners[n - 1] == null) {
                    owners[n - 1] = new int[n];
                    java.util.Arrays.fill(owners[n - 1], -1);
                }
                t.loop = loop;
                t.n = n;
                t.owner = owners[n - 1];
                java.util.Arrays.fill(t.owner, loop - 1);
                pool.parallelFor(n, 1, t);
                for (int i = 0; i < n; i++) {
                    assertEquals(loop, t.owner[i], "loop " + loop + " index " + i);
                }
                assertFalse(t.bad, "a chunk ran with another loop's parameters (loop " + loop + ")");
            }
        }
    }

    @Test
    void aLoopInsideALoopRunsInline() {
        try (WorkerPool pool = new WorkerPool(2)) {
            AtomicIntegerArray hits = new AtomicIntegerArray(64 * 64);
            pool.parallelFor(64, 1, (from, to) -> {
                for (int i = from; i < to; i++) {
                    int row = i;
                    pool.parallelFor(64, 1, (a, b) -> {
                        for (int j = a; j < b; j++) {
                            hits.incrementAndGet(row * 64 + j);
                        }
                    });
                }
            });
            for (int i = 0; i < 64 * 64; i++) {
                assertEquals(1, hits.get(i), "index " + i);
            }
        }
    }

    /** A loop allocates nothing on the caller once warm (best of a few rounds: the JIT may allocate early on). */
    @Test
    void aLoopAllocatesNothing() {
        var mx = (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
        org.junit.jupiter.api.Assumptions.assumeTrue(mx.isThreadAllocatedMemorySupported());
        mx.setThreadAllocatedMemoryEnabled(true);
        try (WorkerPool pool = new WorkerPool(2)) {
            long[] sums = new long[64];
            WorkerPool.RangeTask task = (from, to) -> {
                for (int i = from; i < to; i++) {
                    sums[i]++;
                }
            };
            long best = Long.MAX_VALUE;
            for (int round = 0; round < 10 && best > 0; round++) {
                long before = mx.getCurrentThreadAllocatedBytes();
                for (int i = 0; i < 10_000; i++) {
                    pool.parallelFor(64, 1, task);
                }
                best = Math.min(best, mx.getCurrentThreadAllocatedBytes() - before);
            }
            assertTrue(best < 10_000, "10,000 loops allocated " + best + " bytes");   // < 1 byte per loop
        }
    }

    /** Guided chunks: they tile [0, n) in order, never grow, and the last is a small share of the whole. */
    @Test
    void chunksShrinkAndTileTheRange() {
        for (int n : new int[] {1, 7, 64, 1000, 18432, Integer.MAX_VALUE / 2}) {
            for (int k : new int[] {1, 2, 8, 16, 64}) {
                assertEquals(0, WorkerPool.start(n, k, 0));
                assertEquals(n, WorkerPool.start(n, k, k));
                long last = n;
                for (int i = 0; i < k; i++) {
                    long size = (long) WorkerPool.start(n, k, i + 1) - WorkerPool.start(n, k, i);
                    assertTrue(size >= 0 && size <= last + 1, n + "/" + k + ": chunk " + i + " of " + size
                            + " after " + last);   // +1: integer rounding
                    last = size;
                }
                if (k >= 8 && n >= 1000) {
                    assertTrue(last <= n / (k * k / 2), n + "/" + k + ": last chunk " + last);
                }
            }
        }
    }

    /** parallelForEach: every index once, each in a range of its own, on a pool and on one thread. */
    @Test
    void eachIndexOnItsOwn() {
        for (int threads : new int[] {1, 2, 3}) {
            try (WorkerPool pool = new WorkerPool(threads)) {
                for (int n : new int[] {0, 1, 5, 64}) {
                    AtomicIntegerArray seen = new AtomicIntegerArray(Math.max(1, n));
                    pool.parallelForEach(n, (from, to) -> {
                        if (threads > 1 && n > 1) {
                            assertEquals(from + 1, to, "one index per range");
                        }
                        for (int i = from; i < to; i++) {
                            seen.incrementAndGet(i);
                        }
                    });
                    for (int i = 0; i < n; i++) {
                        assertEquals(1, seen.get(i), threads + " threads, n " + n + ": index " + i);
                    }
                }
            }
        }
    }
}
