package io.trillium.cuda;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

class GpuOptionsTest {

    @Test
    void parsesModes() {
        assertEquals(GpuOptions.auto(), GpuOptions.parse(null, null));
        assertEquals(GpuOptions.auto(), GpuOptions.parse("AUTO", "auto"));
        assertEquals(GpuOptions.Mode.OFF, GpuOptions.parse("off", null).mode());
        GpuOptions d = GpuOptions.parse("1", "10g");
        assertEquals(GpuOptions.Mode.DEVICE, d.mode());
        assertEquals(1, d.device());
        assertEquals(10L << 30, d.vramBudget());
    }

    @Test
    void parsesSizes() {
        assertEquals(512L << 20, GpuOptions.parseSize("512m"));
        assertEquals(512L << 20, GpuOptions.parseSize("512MiB"));
        assertEquals(12L << 30, GpuOptions.parseSize("12GB"));
        assertEquals(3L << 29, GpuOptions.parseSize("1.5g"));
        assertEquals(4096, GpuOptions.parseSize("4096"));
        assertEquals(4096, GpuOptions.parseSize("4k"));
    }

    @Test
    void badInputsSayWhatWasExpected() {
        var e = assertThrows(IllegalArgumentException.class, () -> GpuOptions.parse("cuda0", null));
        assertTrue(e.getMessage().contains("auto, off or a device number"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> GpuOptions.parse("auto", "lots"));
        assertTrue(e.getMessage().contains("--vram"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> GpuOptions.parseSize("-1g"));
        assertThrows(IllegalArgumentException.class, () -> GpuOptions.parse("-1", null));
    }

    @org.junit.jupiter.api.Test
    void theTableModelIsAtLeast8GiBOfDeepseek2() {
        var spec = GpuBench.benchModel();
        assertEquals("deepseek2", spec.arch());
        assertTrue(spec.tensorBytes() >= 8L << 30, spec.summary());
        assertTrue(spec.experts() > spec.used(), spec.summary());
    }
}
