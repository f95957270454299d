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

    @Test
    void jcudaLoadErrorsAreShortened() {
        String msg = "Error while loading native library \"JCudaDriver-12.6.0-linux-x86_64\"\n"
                + "Operating system name: Linux\n---(start of nested stack traces)---\n"
                + "java.lang.UnsatisfiedLinkError: /tmp/libJCudaDriver-12.6.0-linux-x86_64.so: libcuda.so.1: "
                + "cannot open shared object file: No such file or directory\n\tat x.y(Z.java:1)\n";
        assertEquals("Error while loading native library \"JCudaDriver-12.6.0-linux-x86_64\": libcuda.so.1 not found"
                + " (no NVIDIA driver installed?)", CudaSupport.briefly(msg));
        assertEquals("plain", CudaSupport.briefly("plain\nmore"));
        CudaSupport.Probe p = CudaSupport.probe();
        if (!p.available()) {
            assertFalse(p.reason().contains("\n"), "one line: " + p.reason());
        }
    }
}
