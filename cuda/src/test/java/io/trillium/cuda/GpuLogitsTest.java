package io.trillium.cuda;

import io.trillium.fixtures.Fixtures;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** GPU only: every fixture model's logits on the GPU backend against the CPU backend. */
class GpuLogitsTest {

    @Test
    void everyFixtureModelMatchesTheCpuBackend() throws Exception {
        CudaSupport.Probe p = CudaSupport.probe();
        assumeTrue(p.available(), () -> "skipped: " + p.reason());
        List<Path> models = GpuCheck.models(Fixtures.models());
        assertFalse(models.isEmpty());
        for (Path m : models) {
            GpuCheck.Result r = GpuCheck.compare(m, GpuOptions.auto());
            System.out.println(r);
            assertTrue(r.worstRelL2() <= GpuCheck.MAX_REL_L2, r::toString);
            assertArrayEquals(r.cpuTokens(), r.gpuTokens(), r::toString);
            assertTrue(r.stats().gpuMatVecs() > 0, "nothing ran on the GPU: " + r);
        }
    }

    @Test
    void hybridBenchRuns() throws Exception {
        CudaSupport.Probe p = CudaSupport.probe();
        assumeTrue(p.available(), () -> "skipped: " + p.reason());
        GpuBench.main(new String[] {Fixtures.file("models/ds2-tiny-Q4_K_M.gguf").toString(), "8", "8"});
    }
}
