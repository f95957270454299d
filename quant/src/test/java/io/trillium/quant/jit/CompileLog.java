package io.trillium.quant.jit;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What C2 did with the Vector API code of a JVM run under {@code -XX:+UnlockDiagnosticVMOptions
 * -XX:+LogCompilation -XX:LogFile=F}: per compiled root method, the most nodes its parse reached, and
 * every call into vector code (a {@code jdk.incubator.vector} or {@code VectorSupport} method, or one
 * taking or returning a vector) that C2 did not inline. Such a call boxes its vectors: the kernel
 * allocates on every call and runs several times slower.
 *
 * <p>What leaves such calls out of line: for our own methods, C2's inlining rules (NodeCountInliningCutoff:
 * past 18,000 nodes of a compilation nothing but {@code @ForceInline} methods is inlined, and Vector API
 * calls parse into hundreds of nodes each; "already compiled into a big method"; "call site not reached";
 * size limits), all of which depend on profiles and timing, so one machine inlines what the next does
 * not. For the JDK's own methods (all {@code @ForceInline}), a receiver whose exact class C2 cannot see
 * at parse time, with a type profile polluted by several vector shapes.
 */
public final class CompileLog {
    /** A C2-compiled root: the most parse nodes of its compilations. */
    public record Root(String method, int maxNodes) {
    }

    /** A call into vector code that C2 left out of line in a compilation of {@code root}. */
    public record Failure(String root, String callee, String reason) {
    }

    private final Map<String, Root> roots;
    private final List<Failure> failures;

    private CompileLog(Map<String, Root> roots, List<Failure> failures) {
        this.roots = roots;
        this.failures = failures;
    }

    public Map<String, Root> roots() {
        return roots;
    }

    public List<Failure> failures() {
        return failures;
    }

    private static final Pattern ATTR = Pattern.compile("(\\w+)='([^']*)'");

    private static Map<String, String> attrs(String line) {
        Map<String, String> a = new HashMap<>();
        Matcher m = ATTR.matcher(line);
        while (m.find()) {
            a.put(m.group(1), m.group(2));
        }
        return a;
    }

    private record Method(String holder, String name, boolean isStatic, List<String> types) {
    }

    /** Reads the log of C2's compilations (C1's tiers have no level-less task and are skipped). */
    public static CompileLog read(Path log) throws IOException {
        Map<String, Root> roots = new TreeMap<>();
        List<Failure> failures = new ArrayList<>();
        String root = null;
        Map<String, String> types = new HashMap<>();
        Map<String, Method> methods = new HashMap<>();
        Method callee = null;
        int nodes = 0;
        boolean helperRoot = false;
        try (BufferedReader in = Files.newBufferedReader(log)) {
            for (String line; (line = in.readLine()) != null; ) {
                if (line.startsWith("<task ")) {
                    Map<String, String> a = attrs(line);
                    root = a.containsKey("level") ? null : a.get("method");   // C2 tasks carry no tier level
                    if (root != null) {
                        // a helper that takes or returns vectors, compiled on its own, boxes at its boundary
                        // anyway: what matters is whether its callers inline it, which their roots show
                        helperRoot = root.substring(root.indexOf('(')).contains("jdk/incubator/vector/");
                        root = root.substring(0, root.indexOf(' ', root.indexOf(' ') + 1));   // "Class method"
                    }
                    types.clear();
                    methods.clear();
                    callee = null;
                    nodes = 0;
                } else if (root == null) {
                    continue;
                } else if (line.startsWith("<klass ") || line.startsWith("<type ")) {
                    Map<String, String> a = attrs(line);
                    types.put(a.get("id"), a.get("name"));
                } else if (line.startsWith("<method ")) {
                    Map<String, String> a = attrs(line);
                    List<String> sig = new ArrayList<>();
                    sig.add(a.getOrDefault("return", ""));
                    for (String t : a.getOrDefault("arguments", "").split(" ")) {
                        sig.add(t);
                    }
                    boolean isStatic = (Integer.parseInt(a.getOrDefault("flags", "0")) & 0x0008) != 0;
                    methods.put(a.get("id"), new Method(a.get("holder"), a.get("name"), isStatic, sig));
                } else if (line.startsWith("<call ")) {
                    callee = methods.get(attrs(line).get("method"));
                } else if (line.startsWith("<inline_fail ") && callee != null && !helperRoot && movesVectors(callee, types)) {
                    failures.add(new Failure(root, types.get(callee.holder()) + "::" + callee.name(),
                            attrs(line).get("reason").replace("&apos;", "'")));
                } else if (line.startsWith("<parse_done ")) {
                    nodes = Math.max(nodes, Integer.parseInt(attrs(line).get("nodes")));
                } else if (line.startsWith("</task>")) {
                    int n = nodes;
                    roots.merge(root, new Root(root, n), (x, y) -> x.maxNodes() >= y.maxNodes() ? x : y);
                    root = null;
                }
            }
        }
        return new CompileLog(roots, failures);
    }

    /** Whether a call of {@code m} passes vectors, masks or shuffles (as receiver, argument or result). */
    private static boolean movesVectors(Method m, Map<String, String> types) {
        if (!m.isStatic() && isVectorData(types.get(m.holder()))) {
            return true;
        }
        for (String t : m.types()) {
            if (isVectorData(types.get(t))) {
                return true;
            }
        }
        return false;
    }

    /** Vector, mask and shuffle classes (not species, operators or the fallback functions' interfaces). */
    private static final Pattern VECTOR_DATA = Pattern.compile("jdk\\.incubator\\.vector\\."
            + "(Abstract(Vector|Mask|Shuffle)|Vector|VectorMask|VectorShuffle"
            + "|(Byte|Short|Int|Long|Float|Double)(64|128|256|512|Max)?(Vector|Mask|Shuffle)"
            + "|(Byte|Short|Int|Long|Float|Double)(64|128|256|512|Max)Vector\\$\\w+(Mask|Shuffle))"
            + "|jdk\\.internal\\.vm\\.vector\\.VectorSupport\\$(Vector|VectorMask|VectorShuffle|VectorPayload)");

    private static boolean isVectorData(String name) {
        return name != null && VECTOR_DATA.matcher(name).matches();
    }

    /**
     * What is wrong for the roots whose {@code "Class method"} starts with {@code prefix}: calls that move
     * vectors left out of line (each with its root and C2's reason), and roots whose parse passed
     * {@code budget} nodes. For our own methods every reason counts but "never executed" (a branch that had
     * not run when C2 compiled: it runs boxed only if taken, and DecodeAllocationTest measures what a decode
     * takes). The JDK's vector methods on the hot path are all {@code @ForceInline}; the ones C2 may leave out
     * are cold (lazy initialisation such as {@code makeDummyVector}, the fallback tables) and are not counted,
     * nor, with {@code virtualCalls} false, JDK methods left virtual because their receiver's class came from
     * a type profile that several vector shapes share (see the test that calls this).
     */
    public List<String> problems(String prefix, int budget, boolean virtualCalls) {
        List<String> out = new ArrayList<>();
        for (Failure f : failures) {
            boolean counts = f.callee().startsWith("jdk.")
                    ? virtualCalls && f.reason().equals("virtual call")
                    : !f.reason().equals("never executed");
            if (f.root().startsWith(prefix) && counts) {
                out.add(f.root() + ": " + f.callee() + " not inlined (" + f.reason() + ")");
            }
        }
        for (Root r : roots.values()) {
            if (r.method().startsWith(prefix) && r.maxNodes() > budget) {
                out.add(r.method() + ": parse reached " + r.maxNodes() + " nodes (budget " + budget + ")");
            }
        }
        return out;
    }
}
