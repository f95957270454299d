package io.trillium;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.lang.classfile.ClassFile;
import java.lang.classfile.ClassModel;
import java.lang.classfile.constantpool.ClassEntry;
import java.lang.classfile.constantpool.PoolEntry;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The packages of {@code io.trillium.core} are layered one way (docs/ARCHITECTURE.md draws the picture): a
 * package may use only packages on a lower layer, never one on its own layer or above. Checked on the compiled
 * classes: every class a class file names in its constant pool (fields, calls, casts, signatures, nested
 * types; not Javadoc), so an arrow that runs back up fails here rather than quietly in a later refactor.
 */
class LayeringTest {

    /** Layer of each package, bottom (0) to top; a package's subpackages are listed on their own; quant is the module below core. */
    static final Map<String, Integer> LAYERS = Map.ofEntries(
            Map.entry("quant", 0),
            Map.entry("sample", 0),          // the sampling SPI and built-ins: plain arrays, nothing of the engine
            Map.entry("gguf", 1),
            Map.entry("safetensors", 1),
            Map.entry("tokenizer", 2),
            Map.entry("chat", 2),
            Map.entry("kv", 2),
            Map.entry("backend", 2),         // host kernels and the Device seam
            Map.entry("moe", 3),             // routing, expert execution, prefetch
            Map.entry("tier", 4),            // memory tiers and the expert cache
            Map.entry("model", 5),           // the forward passes
            Map.entry("model.synth", 5),     // the model generator (tests, benchmarks, `synth`)
            Map.entry("plan", 6),            // placement planner
            Map.entry("api", 7));            // the public API on top

    @Test
    void everyPackageUsesOnlyLowerLayers() throws Exception {
        Path root = classesRoot();
        List<String> violations = new ArrayList<>();
        TreeSet<String> seen = new TreeSet<>();
        try (Stream<Path> files = Files.walk(root.resolve("io/trillium"))) {
            for (Path f : files.filter(p -> p.toString().endsWith(".class")).toList()) {
                ClassModel cm = ClassFile.of().parse(f);
                String from = packageOf(cm.thisClass().asInternalName());
                if (from == null) {
                    continue;   // module-info
                }
                seen.add(from);
                Integer fromLayer = LAYERS.get(from);
                if (fromLayer == null) {
                    violations.add(cm.thisClass().asInternalName() + ": package io.trillium." + from
                            + " has no layer in LayeringTest.LAYERS (add it, and to docs/ARCHITECTURE.md)");
                    continue;
                }
                TreeSet<String> used = new TreeSet<>();
                for (PoolEntry e : cm.constantPool()) {
                    if (e instanceof ClassEntry ce) {
                        String to = packageOf(elementType(ce.asInternalName()));
                        if (to != null && !to.equals(from)) {
                            used.add(to);
                        }
                    }
                }
                for (String to : used) {
                    Integer toLayer = LAYERS.get(to);
                    if (toLayer == null || toLayer >= fromLayer) {
                        violations.add(cm.thisClass().asInternalName().replace('/', '.') + " (" + from + ", layer "
                                + fromLayer + ") uses io.trillium." + to + " (layer " + toLayer + ")");
                    }
                }
            }
        }
        TreeSet<String> expected = new TreeSet<>(LAYERS.keySet());
        expected.remove("quant");   // the quant module's classes are not under core's
        assertEquals(expected, seen, "packages compiled under " + root + " vs LAYERS (a stale entry, or classes missing)");
        if (!violations.isEmpty()) {
            fail(violations.size() + " arrows against the layering:\n  " + String.join("\n  ", violations));
        }
    }

    @Test
    void theCheckSeesAnArrowUpward() throws Exception {
        // the parser must find an upward reference where one exists: a model class names moe and backend types
        ClassModel cm = ClassFile.of().parse(classesRoot().resolve("io/trillium/model/DeepseekModel.class"));
        TreeSet<String> used = new TreeSet<>();
        for (PoolEntry e : cm.constantPool()) {
            if (e instanceof ClassEntry ce && packageOf(elementType(ce.asInternalName())) != null) {
                used.add(packageOf(elementType(ce.asInternalName())));
            }
        }
        assertTrue(used.containsAll(List.of("moe", "backend", "quant")), "DeepseekModel's references: " + used);
        assertEquals(5, LAYERS.get(packageOf("io/trillium/model/X")));
        assertEquals("model.synth", packageOf("io/trillium/model/synth/X$Y"));
        assertEquals("quant", packageOf(elementType("[[Lio/trillium/quant/Tensor;")));
    }

    /** {@code io/trillium/a/b/C} → {@code a.b}; null outside io.trillium or for io.trillium's own top level. */
    static String packageOf(String internalName) {
        if (!internalName.startsWith("io/trillium/")) {
            return null;
        }
        int slash = internalName.lastIndexOf('/');
        return slash <= "io/trillium".length() ? null : internalName.substring("io/trillium/".length(), slash)
                .replace('/', '.');
    }

    /** An array class's element type ({@code [[Lx/Y;} → {@code x/Y}); other names as they are. */
    static String elementType(String internalName) {
        String n = internalName;
        while (n.startsWith("[")) {
            n = n.substring(1);
        }
        return n.startsWith("L") && n.endsWith(";") ? n.substring(1, n.length() - 1) : n;
    }

    /** Where this module's main classes were compiled to (the directory or jar holding io.trillium.api). */
    private static Path classesRoot() throws URISyntaxException, IOException {
        Path p = Path.of(io.trillium.api.Trillium.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        if (!Files.isDirectory(p)) {
            throw new IOException("LayeringTest reads compiled classes from a directory, got " + p);
        }
        return p;
    }
}
