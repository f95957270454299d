package io.trillium.cuda;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

class CudaSupportTest {

    @Test
    void probeNeverThrowsAndExplainsItself() {
        CudaSupport.Probe p = CudaSupport.probe();
        if (p.available()) {
            assertNull(p.reason());
            assertTrue(p.deviceCount() > 0);
            assertNotNull(p.deviceName());
        } else {
            assertNotNull(p.reason());
            assertFalse(p.reason().isBlank());
            assertEquals(0, p.deviceCount());
        }
        // A second probe must give the same verdict (JCuda's failed static init must not turn into a crash).
        assertEquals(p.available(), CudaSupport.probe().available());
    }

    @Test
    void deviceReportsMemory() {
        CudaSupport.Probe p = CudaSupport.probe();
        assumeTrue(p.available(), () -> "skipped: " + p.reason());
        assertTrue(p.totalMemory() > 0, "device memory");
        assertTrue(p.computeMajor() >= 3, "compute capability");
    }
}
