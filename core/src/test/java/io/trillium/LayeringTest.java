package io.trillium;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.lang.classfile.ClassFile;
import java.lang.classfile.ClassModel;
import java.lang.classfile.constantpool.ClassEntry;
import java.lang.classfile.constantpool.PoolEntry;
import java.lang.classfile.constantpool.Utf8Entry;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The packages of {@code io.trillium.core} are layered one way (docs/ARCHITECTURE.md draws the picture): a
 * package may use only packages on a lower layer, never one on its own layer or above. Checked on the compiled
 * classes: every class a class file's constant pool names (fields, calls, casts, nested types) and every type
 * in its descriptors and generic signatures (a type used only in a method's parameters or an annotation
 * counts too; Javadoc does not), so an arrow that runs back up fails here rather than in a later refactor.
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
            Map.entry("json", 3),            // JSON Schema → byte automaton → token masks (structured output)
            Map.entry("moe", 3),             // routing, expert execution, prefetch
            Map.entry("tier", 4),            // memory tiers and the expert cache
            Map.entry("model", 5),           // the forward passes
            Map.entry("synth", 5),           // the model generator (tests, benchmarks, `trillium synth`)
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
                String name = cm.thisClass().asInternalName().replace('/', '.');
                for (String v : upwardArrows(from, packagesUsed(cm))) {
                    violations.add(name + " " + v);
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
    void theCheckSeesReferencesAndReportsArrowsUpward() throws Exception {
        // the class files are read: a model class names moe, backend and quant types
        ClassModel cm = ClassFile.of().parse(classesRoot().resolve("io/trillium/model/DeepseekModel.class"));
        Set<String> used = packagesUsed(cm);
        assertTrue(used.containsAll(List.of("moe", "backend", "quant", "tier")), "DeepseekModel's references: " + used);
        // and what the check says of them: down is fine, up and sideways are not, unknown packages neither
        assertEquals(List.of(), upwardArrows("model", Set.of("moe", "backend", "quant")));
        assertEquals(1, upwardArrows("sample", Set.of("api")).size());
        assertEquals(1, upwardArrows("moe", Set.of("model")).size());
        assertEquals(1, upwardArrows("chat", Set.of("tokenizer")).size());   // the same layer
        assertEquals(1, upwardArrows("api", Set.of("nosuch")).size());
        assertEquals("model.synth", packageOf("io/trillium/model/synth/X$Y"));
        assertEquals("quant", packageOf(elementType("[[Lio/trillium/quant/Tensor;")));
        assertEquals(Set.of("kv", "tier"), typesIn("(Lio/trillium/kv/KvCache;[Lio/trillium/tier/Tier$Slot;I)V"));
    }

    /** The io.trillium packages (other than its own) that {@code cm} names: classes, descriptors, signatures. */
    static Set<String> packagesUsed(ClassModel cm) {
        String from = packageOf(cm.thisClass().asInternalName());
        TreeSet<String> used = new TreeSet<>();
        for (PoolEntry e : cm.constantPool()) {
            if (e instanceof ClassEntry ce) {
                String to = packageOf(elementType(ce.asInternalName()));
                if (to != null) {
                    used.add(to);
                }
            } else if (e instanceof Utf8Entry u) {   // field/method descriptors, generic signatures, annotations
                used.addAll(typesIn(u.stringValue()));
            }
        }
        used.remove(from);
        return used;
    }

    private static final Pattern TYPE = Pattern.compile("L(io/trillium/[A-Za-z0-9_/$]+)[;<]");

    /** Packages of the io.trillium types a descriptor or signature mentions. */
    static Set<String> typesIn(String descriptor) {
        TreeSet<String> out = new TreeSet<>();
        Matcher m = TYPE.matcher(descriptor);
        while (m.find()) {
            String p = packageOf(m.group(1));
            if (p != null) {
                out.add(p);
            }
        }
        return out;
    }

    /** What is wrong with package {@code from} using {@code used}: one line per arrow that is not downward. */
    static List<String> upwardArrows(String from, Set<String> used) {
        Integer fromLayer = LAYERS.get(from);
        List<String> out = new ArrayList<>();
        for (String to : new TreeSet<>(used)) {
            Integer toLayer = LAYERS.get(to);
            if (fromLayer == null || toLayer == null || toLayer >= fromLayer) {
                out.add("(" + from + ", layer " + fromLayer + ") uses io.trillium." + to + " (layer " + toLayer + ")");
            }
        }
        return out;
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
