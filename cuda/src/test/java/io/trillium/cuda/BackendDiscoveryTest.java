package io.trillium.cuda;

import io.trillium.quant.Numerics;
import io.trillium.backend.BackendProvider;
import io.trillium.backend.ComputeBackend;
import io.trillium.backend.CpuBackend;
import io.trillium.fixtures.Fixtures;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeFalse;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** ServiceLoader finds the cuda provider; without a device every path falls back to the host, saying why. */
class BackendDiscoveryTest {

    @Test
    void serviceLoaderFindsTheCudaProvider() {
        List<BackendProvider> all = BackendProvider.installed();
        BackendProvider cuda = all.stream().filter(p -> p.name().equals("cuda")).findFirst().orElse(null);
        assertNotNull(cuda, "cuda provider not found among " + all);
        assertInstanceOf(CudaBackendProvider.class, cuda);
        CudaSupport.Probe p = CudaSupport.probe();
        if (p.available()) {
            assertNull(cuda.unavailableReason());
        } else {
            assertEquals("no usable CUDA device: " + p.reason(), cuda.unavailableReason());
        }
    }

    @Test
    void withoutADeviceCreateFailsWithTheProbesReason() {
        CudaSupport.Probe p = CudaSupport.probe();
        assumeFalse(p.available(), "a GPU is present: the fallback is not taken here");
        try (CpuBackend host = new CpuBackend(1, Numerics.EXACT)) {
            var e = assertThrows(IllegalStateException.class, () -> CudaBackend.create(GpuOptions.auto(), host));
            assertTrue(e.getMessage().contains(p.reason()), e.getMessage());
            e = assertThrows(IllegalStateException.class, () -> new CudaBackendProvider().create(host));
            assertTrue(e.getMessage().contains(p.reason()), e.getMessage());
        }
    }

    @Test
    void createOrHostFallsBackToTheHostAndSaysWhy() {
        try (CpuBackend host = new CpuBackend(1, Numerics.EXACT)) {
            String[] why = new String[1];
            // off: never the GPU, whatever the machine
            assertSame(host, CudaBackend.createOrHost(GpuOptions.off(), host, r -> why[0] = r));
            assertEquals("the GPU is switched off (--gpu off)", why[0]);
            CudaSupport.Probe p = CudaSupport.probe();
            if (!p.available()) {
                why[0] = null;
                ComputeBackend b = CudaBackend.createOrHost(GpuOptions.auto(), host, r -> why[0] = r);
                assertSame(host, b);
                assertEquals("no usable CUDA device: " + p.reason(), why[0]);
            }
        }
    }

    @Test
    void benchRunsCpuOnlyAndSkipsHybridWithTheReason() throws Exception {
        CudaSupport.Probe p = CudaSupport.probe();
        assumeFalse(p.available(), "a GPU is present: GpuBenchGpuTest covers the hybrid row");
        var out = new java.io.ByteArrayOutputStream();
        var old = System.out;
        System.setOut(new java.io.PrintStream(out, true, java.nio.charset.StandardCharsets.UTF_8));
        try {
            GpuBench.main(new String[] {Fixtures.file("models/ds2-tiny-Q8_0.gguf").toString(), "2", "3", "1"});
        } finally {
            System.setOut(old);
        }
        String s = out.toString(java.nio.charset.StandardCharsets.UTF_8);
        assertTrue(s.contains("cpu      prefill"), s);
        assertTrue(s.contains("hybrid   skipped: no usable CUDA device: " + p.reason()), s);
    }

    @Test
    void gpuCheckNeedsADevice() {
        assumeTrue(!CudaSupport.probe().available());
        assertThrows(IllegalStateException.class,
                () -> GpuCheck.compare(Fixtures.file("models/ds2-tiny-Q8_0.gguf"), GpuOptions.auto()));
    }
}
