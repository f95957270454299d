package io.trillium.cuda;

import io.trillium.fixtures.Fixtures;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Every fixture model's logits on the GPU backend against the CPU backend: on the host emulator of the
 * kernels always (the whole backend and every kernel it launches, device step and matrix-by-matrix
 * path), on the CUDA device when one is present.
 */
class GpuLogitsTest {

    static void check(GpuCheck.Result r, boolean deviceStep) {
        System.out.println(r);
        assertTrue(r.worstRelL2() <= GpuCheck.MAX_REL_L2, r::toString);
        assertArrayEquals(r.cpuTokens(), r.gpuTokens(), r::toString);
        assertTrue(r.stats().gpuMatVecs() > 0, "nothing ran on the GPU: " + r);
        // stats are taken after the state closed, before the model: nothing of the state may remain
        assertFalse(r.stats().vramByTag().containsKey("kv cache"), "a closed state's KV cache is still in VRAM: " + r);
        assertFalse(r.stats().vramByTag().containsKey("prefill"), "prefill vectors left in VRAM: " + r);
        if (deviceStep) {
            assertTrue(r.stats().deviceSyncs() > 0, "the device step did not run: " + r);
            assertEquals(0, r.stats().hostMatVecs(), "a matrix of the device step ran on the host: " + r);
        } else {
            assertEquals(0, r.stats().deviceSyncs(), r::toString);
        }
    }

    @Test
    void everyFixtureModelMatchesTheCpuBackendOnTheEmulator() throws Exception {
        List<Path> models = GpuCheck.models(Fixtures.models());
        assertFalse(models.isEmpty());
        for (Path m : models) {
            boolean mla = m.getFileName().toString().startsWith("ds2");
            EmulatedGpu[] gpu = new EmulatedGpu[1];
            GpuCheck.Result r = GpuCheck.compare(m, host -> new CudaBackend(gpu[0] = new EmulatedGpu(1L << 30),
                    GpuOptions.auto(), host));
            check(r, mla);
            assertEquals(0, gpu[0].used(), "device memory left allocated after the backend closed");
            if (mla) {   // while the model is open, the device holds its weights (and the state ran there)
                assertTrue(r.stats().vramByTag().getOrDefault("weights", 0L) > 0, r::toString);
            }
            if (mla) {
                check(GpuCheck.compare(m, host -> new CudaBackend(new EmulatedGpu(1L << 30), GpuOptions.auto(), host)
                        .withoutDeviceStep()), false);
                GpuCheck.Result streamed = GpuCheck.compare(m,
                        host -> new CudaBackend(new EmulatedGpu(1L << 30), GpuOptions.auto(), host), GpuCheck.STREAMED_EXPERTS);
                check(streamed, true);
                assertTrue(streamed.stats().stagedBytes() > 0, "no expert was streamed: " + streamed);
            }
            if (m.getFileName().toString().equals("ds2-tiny-Q8_0.gguf")) {
                GpuCheck.Result vram = GpuCheck.compare(m,
                        host -> new CudaBackend(new EmulatedGpu(1L << 30), GpuOptions.auto(), host), GpuCheck.VRAM_EXPERTS);
                check(vram, true);
                assertTrue(vram.stats().residentTensors() > 30, "no expert moved to VRAM: " + vram);
            }
        }
    }

    @Test
    void everyFixtureModelMatchesTheCpuBackendOnTheGpu() throws Exception {
        CudaSupport.Probe p = CudaSupport.probe();
        assumeTrue(p.available(), () -> "skipped: " + p.reason());
        for (Path m : GpuCheck.models(Fixtures.models())) {
            check(GpuCheck.compare(m, GpuOptions.auto()), m.getFileName().toString().startsWith("ds2"));
            check(GpuCheck.compare(m, host -> CudaBackend.create(GpuOptions.auto(), host).withoutDeviceStep()), false);
            if (m.getFileName().toString().startsWith("ds2")) {
                check(GpuCheck.compare(m, GpuOptions.auto(), GpuCheck.STREAMED_EXPERTS), true);
                check(GpuCheck.compare(m, GpuOptions.auto(), GpuCheck.VRAM_EXPERTS), true);
            }
        }
    }

    @Test
    void hybridBenchRuns() throws Exception {
        CudaSupport.Probe p = CudaSupport.probe();
        assumeTrue(p.available(), () -> "skipped: " + p.reason());
        GpuBench.main(new String[] {Fixtures.file("models/ds2-tiny-Q4_K_M.gguf").toString(), "8", "8"});
    }
}
