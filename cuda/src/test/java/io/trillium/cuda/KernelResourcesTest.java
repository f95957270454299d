package io.trillium.cuda;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.*;

/** The ahead-of-time kernels: present in the jar, with every entry point, and built from the current sources. */
class KernelResourcesTest {

    @Test
    void everyKernelIsAnEntryOfItsPtx() {
        for (var e : CudaKernels.ENTRIES.entrySet()) {
            String ptx = new String(JCudaGpu.resource(e.getKey() + ".ptx", false), StandardCharsets.US_ASCII);
            assertTrue(ptx.contains(".target sm_80"), e.getKey() + ".ptx targets compute_80");
            for (String k : e.getValue()) {
                assertTrue(ptx.contains(".visible .entry " + k + "("), e.getKey() + ".ptx lacks entry " + k);
            }
        }
        // every GPU mat-vec type has its kernel in the module
        for (String k : CudaKernels.MATVEC.values()) {
            assertTrue(CudaKernels.ENTRIES.get("matvec").contains(k), k);
        }
    }

    @Test
    void fatbinsAreFatbins() {
        for (String m : CudaKernels.ENTRIES.keySet()) {
            byte[] b = JCudaGpu.resource(m + ".fatbin", false);
            // fatbin header magic 0xBA55ED50, little-endian
            assertEquals(0x50, b[0] & 0xFF, m);
            assertEquals(0xED, b[1] & 0xFF, m);
            assertEquals(0x55, b[2] & 0xFF, m);
            assertEquals(0xBA, b[3] & 0xFF, m);
        }
    }

    @Test
    void ptxTerminatedForModuleLoad() {
        byte[] b = JCudaGpu.resource("ops.ptx", true);
        assertEquals(0, b[b.length - 1]);
    }

    @Test
    void missingResourceNamesTheScript() {
        var e = assertThrows(IllegalStateException.class, () -> JCudaGpu.resource("nope.ptx", false));
        assertTrue(e.getMessage().contains("build-ptx.sh"), e.getMessage());
    }

    /** Stale PTX is a silent bug: the committed resources must come from the committed .cu/.cuh. */
    @Test
    void resourcesAreBuiltFromTheCurrentSources() throws IOException, NoSuchAlgorithmException {
        Path src = Path.of("src/main/cuda");
        assertTrue(Files.isDirectory(src), "run from the cuda module directory: " + src.toAbsolutePath());
        Map<String, String> recorded = new TreeMap<>();
        for (String line : new String(JCudaGpu.resource("SOURCES.sha256", false), StandardCharsets.UTF_8).split("\n")) {
            if (!line.isBlank()) {
                String[] f = line.trim().split("\\s+");
                recorded.put(f[1], f[0]);
            }
        }
        Map<String, String> actual = new TreeMap<>();
        List<Path> files;
        try (var s = Files.list(src)) {
            files = s.filter(p -> p.toString().endsWith(".cu") || p.toString().endsWith(".cuh")).toList();
        }
        for (Path p : files) {
            byte[] d = MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(p));
            actual.put(p.getFileName().toString(), HexFormat.of().formatHex(d));
        }
        assertEquals(recorded, actual, "kernel sources changed: run cuda/src/main/cuda/build-ptx.sh");
    }
}
