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
}
