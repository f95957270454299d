package io.trillium.cuda;

import org.junit.jupiter.api.Test;

import java.util.HashSet;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.*;

/** VRAM accounting against a fake allocator that checks every handle is freed exactly once. */
class DeviceMemoryTest {

    static final class FakeAllocator implements DeviceAllocator<Long> {
        long next = 1;
        final Set<Long> live = new HashSet<>();
        long liveBytes;
        final java.util.Map<Long, Long> sizes = new java.util.HashMap<>();

        @Override
        public Long allocate(long bytes) {
            long h = next++;
            live.add(h);
            sizes.put(h, bytes);
            liveBytes += bytes;
            return h;
        }

        @Override
        public void free(Long handle) {
            assertTrue(live.remove(handle), "double free or foreign handle " + handle);
            liveBytes -= sizes.get(handle);
        }
    }

    @Test
    void accountsPerTagAndPeak() {
        FakeAllocator a = new FakeAllocator();
        try (DeviceMemory<Long> m = new DeviceMemory<>(a, 1000)) {
            var w1 = m.allocate("weights", 400);
            var w2 = m.allocate("weights", 300);
            var x = m.allocate("activations", 100);
            assertEquals(800, m.used());
            assertEquals(800, a.liveBytes);
            assertEquals(Map.of("weights", 700L, "activations", 100L), m.usedByTag());
            m.free(w1);
            assertEquals(400, m.used());
            assertEquals(800, m.peak());
            assertEquals(Map.of("weights", 300L, "activations", 100L), m.usedByTag());
            m.free(w2);
            assertEquals(Map.of("activations", 100L), m.usedByTag());
            assertTrue(m.fits(900));
            assertFalse(m.fits(901));
            assertNotNull(x);
        }
        assertTrue(a.live.isEmpty(), "close frees what is left");
    }

    @Test
    void overBudgetAllocatesNothingAndSaysWhy() {
        FakeAllocator a = new FakeAllocator();
        DeviceMemory<Long> m = new DeviceMemory<>(a, 1000);
        m.allocate("weights", 900);
        var e = assertThrows(DeviceMemory.VramExhaustedException.class, () -> m.allocate("activations", 101));
        assertTrue(e.getMessage().contains("activations needs 101 bytes, 100 of 1000 left"), e.getMessage());
        assertEquals(1, a.live.size());
        assertEquals(900, m.used());
        m.allocate("activations", 100);   // exactly the budget fits
        assertEquals(1000, m.used());
        m.close();
        assertTrue(a.live.isEmpty());
        assertThrows(IllegalStateException.class, () -> m.allocate("x", 1));
    }

    @Test
    void rejectsDoubleFreeAndBadSizes() {
        DeviceMemory<Long> m = new DeviceMemory<>(new FakeAllocator(), 100);
        var b = m.allocate("t", 10);
        m.free(b);
        assertThrows(IllegalArgumentException.class, () -> m.free(b));
        assertThrows(IllegalArgumentException.class, () -> m.allocate("t", 0));
        assertThrows(IllegalArgumentException.class, () -> new DeviceMemory<>(new FakeAllocator(), 0));
        assertEquals(0, m.used());
    }
}
