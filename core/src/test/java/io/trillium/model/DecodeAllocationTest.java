package io.trillium.model;

import io.trillium.backend.CpuBackend;
import io.trillium.fixtures.Fixtures;
import io.trillium.quant.GgmlType;
import io.trillium.quant.Numerics;
import io.trillium.synth.ModelSynthesizer;
import io.trillium.synth.SynthSpec;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The decode loop allocates nothing on the heap once warm: not on the calling thread, not on the
 * pool's workers. The synthesized models are sized so that every parallel path runs: mat-vecs split
 * by rows (the output matrix), the experts of a token in parallel, the attention heads in parallel
 * (past {@value #TOKENS_PARALLEL_ATTENTION} tokens); the fixtures run the serial paths.
 *
 * <p>The bound, {@value #BOUND} bytes per token (1,280 bytes a round of {@value #TOKENS} tokens), is
 * above what a warm decode allocates (nothing; the snapshots themselves allocate nothing measurable)
 * and below the smallest regression: one 16-byte object (a capturing lambda, a job) per pooled loop,
 * and every token runs at least one pooled mat-vec (the output matrix), shows as at least 16 bytes
 * per token in every round. (Checked: a lambda per row-split mat-vec gives 16-64 bytes per token.) Rounds before the JIT has compiled the kernels allocate
 * (interpreted Vector API code boxes its vectors; a deoptimisation can bring that back for a while),
 * so the test decodes rounds until one stays under the bound and fails only if none of
 * {@value #ROUNDS} does: a real per-token allocation is in every round; a JIT transient is not.
 */
class DecodeAllocationTest {
    private static final int TOKENS = 160;
    private static final int TOKENS_PARALLEL_ATTENTION = 128;
    private static final int ROUNDS = 12;
    private static final double BOUND = 8;

    @TempDir
    Path dir;

    static final String[] MODELS = {"synth-deepseek2", "synth-qwen3moe", "ds2-tiny-Q4_K_M", "qwen3moe-tiny-F32"};

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"synth-deepseek2", "synth-qwen3moe", "ds2-tiny-Q4_K_M", "qwen3moe-tiny-F32"})
    void warmDecodeAllocatesNothing(String name) throws IOException {
        var mx = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        assumeAllocationCounting(mx);
        String bits = System.getProperty("trillium.test.vectorBits");   // core's surefire execution decode-256
        if (bits != null) {
            assertEquals(Integer.parseInt(bits), io.trillium.quant.Kernels.vectorBitSize(), "kernel width of this run");
        }
        Measured m = measure(model(dir, name));
        System.out.printf("%s: bytes per decoded token, per round (caller + workers):%s%n", name, m.rounds());
        assertTrue(m.best() <= BOUND, name + ": the decode loop allocates " + m.best()
                + " bytes per token at best (rounds:" + m.rounds() + "), bound " + BOUND);
    }

    /**
     * The same decode loop in a child JVM whose vectors are 256 bits wide ({@code -XX:UseAVX=2
     * -XX:MaxVectorSize=32}: what an AVX2-only CPU gives) and, where the CPU has AVX-512, 512 bits. A
     * kernel the JVM cannot intrinsify at that width falls back to boxed vectors and allocates (the
     * 512-bit-only K-quant kernels allocated 819 MB per token on AVX2), so this fails or times out.
     */
    @ParameterizedTest(name = "{0} bits")
    @ValueSource(ints = {256, 512})
    void decodeLoopAllocatesNothingAtEachVectorWidth(int bits) throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(bits == 256 || cpuHasAvx512(),
                "the CPU has no AVX-512: 512-bit vectors cannot be tested here");
        org.junit.jupiter.api.Assumptions.assumeTrue(System.getProperty("trillium.test.vectorBits") == null,
                "the decode-256 execution runs the loop in this JVM already");
        String javaBin = ProcessHandle.current().info().command().orElse("java");
        List<String> cmd = new ArrayList<>(List.of(javaBin,
                "--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-Xss4m", "-Xmx2g",
                "-Dtrillium.native=false"));   // exact mode, Java kernels only: what must intrinsify
        cmd.addAll(bits == 256 ? List.of("-XX:UseAVX=2", "-XX:MaxVectorSize=32") : List.of("-XX:MaxVectorSize=64"));
        // what C2 did with the kernels, to name the call left out of line when the loop allocates
        Path compileLog = dir.resolve("compile-" + bits + ".log");
        cmd.addAll(List.of("-XX:+UnlockDiagnosticVMOptions", "-XX:+LogCompilation", "-XX:LogFile=" + compileLog));
        String shared = System.getProperty("trillium.shared");
        if (shared != null) {
            cmd.add("-Dtrillium.shared=" + shared);
        }
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), DecodeAllocationTest.class.getName(),
                dir.toString(), Integer.toString(bits)));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        StringBuilder out = new StringBuilder();
        Thread reader = Thread.ofVirtual().start(() -> {
            try (var in = new java.io.BufferedReader(new java.io.InputStreamReader(p.getInputStream()))) {
                for (String line; (line = in.readLine()) != null; ) {
                    synchronized (out) {
                        out.append(line).append('\n');
                    }
                }
            } catch (IOException ignored) {
                // the process is gone
            }
        });
        boolean done = p.waitFor(CHILD_TIMEOUT_S, TimeUnit.SECONDS);
        if (!done) {
            p.destroyForcibly().waitFor();
        }
        reader.join(5000);
        String log;
        synchronized (out) {
            log = out.toString();
        }
        System.out.print(log);
        assertTrue(done, bits + "-bit child JVM did not finish in " + CHILD_TIMEOUT_S
                + " s (kernels falling back to boxed vectors decode 100x slower):\n" + log);
        if (p.exitValue() != 0 && java.nio.file.Files.exists(compileLog)) {
            List<String> problems = io.trillium.quant.jit.CompileLog.read(compileLog).problems("io.trillium.", Integer.MAX_VALUE, true);
            log += "vector calls C2 left out of line (each boxes its vectors):\n" + String.join("\n", problems) + "\n";
        }
        assertEquals(0, p.exitValue(), bits + "-bit child JVM failed:\n" + log);
    }

    private static final int CHILD_TIMEOUT_S = 300;

    private static boolean cpuHasAvx512() {
        try {
            return java.nio.file.Files.readString(Path.of("/proc/cpuinfo")).contains(" avx512f");
        } catch (IOException | RuntimeException e) {
            return jdk.incubator.vector.FloatVector.SPECIES_PREFERRED.vectorBitSize() >= 512;
        }
    }

    /** Child JVM entry: {@code DIR BITS}; decodes every model of {@link #MODELS}, exit 1 if one allocates. */
    public static void main(String[] args) throws IOException {
        Path dir = Path.of(args[0]);
        int bits = Integer.parseInt(args[1]);
        int actual = io.trillium.quant.Kernels.vectorBitSize();
        System.out.println("child JVM: kernels " + io.trillium.quant.Kernels.vectorStatus());
        if (actual != bits) {
            System.out.println("expected " + bits + "-bit kernels, got " + actual);
            System.exit(2);
        }
        boolean ok = true;
        for (String name : MODELS) {
            Measured m = measure(model(dir, name));
            System.out.printf("%d bits, %s: bytes per decoded token, per round:%s%n", bits, name, m.rounds());
            ok &= m.best() <= BOUND;
        }
        System.exit(ok ? 0 : 1);
    }

    record Measured(double best, String rounds) {
    }

    static Path model(Path dir, String name) throws IOException {
        return name.startsWith("synth-") ? synth(dir, name.substring(6)) : Fixtures.models().resolve(name + ".gguf");
    }

    /** Decodes rounds of {@value #TOKENS} tokens until one allocates at most {@value #BOUND} bytes per token. */
    static Measured measure(Path file) throws IOException {
        var mx = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        if (!mx.isThreadAllocatedMemoryEnabled()) {
            mx.setThreadAllocatedMemoryEnabled(true);
        }
        CpuBackend backend = new CpuBackend(2, Numerics.EXACT);
        try (LanguageModel m = Models.load(file, backend)) {
            LanguageModel.State s = m.newState(Math.max(TOKENS + 1, 64));
            Thread[] workers = backend.pool().workers();
            long[] ids = new long[workers.length + 1];
            ids[0] = Thread.currentThread().threadId();
            for (int i = 0; i < workers.length; i++) {
                ids[i + 1] = workers[i].threadId();
            }
            long[] before = new long[ids.length];
            long[] after = new long[ids.length];
            // a batched prefill first, as a session does: the kernels are then compiled inside the batched
            // products as well, and a kernel C2 recompiles there out of line (boxed) shows in the decode rounds
            int[] prompt = new int[48];
            for (int i = 0; i < prompt.length; i++) {
                prompt[i] = (i * 7919) % m.config().vocab();
            }
            for (int i = 0; i < 3; i++) {
                s.reset();
                m.forward(s, prompt);
            }
            int[] one = {1};
            double best = Double.MAX_VALUE;
            StringBuilder seen = new StringBuilder();
            for (int round = 0; round < ROUNDS && best > BOUND; round++) {
                s.reset();
                snapshot(mx, ids, before);
                for (int i = 0; i < TOKENS; i++) {
                    float[] logits = m.forward(s, one);
                    one[0] = (int) ((i * 7919L + (logits[i % logits.length] > 0 ? 1 : 0)) % m.config().vocab());
                }
                snapshot(mx, ids, after);
                long bytes = 0;
                for (int i = 0; i < ids.length; i++) {
                    bytes += after[i] - before[i];
                }
                double perToken = (double) bytes / TOKENS;
                best = Math.min(best, perToken);
                seen.append(String.format(" %.1f", perToken));
            }
            return new Measured(best, seen.toString());
        }
    }

    /**
     * The same logits bit for bit on 1, 2 and 3 threads (experts in parallel, rows split, heads split).
     * Interpreted or C1-compiled Vector API code sums lanes in another order than C2's (reduceLanes(ADD):
     * lane order there, a tree in C2; ~1 ulp), and a mix of tiers can last several forward passes, so the
     * three models run in rounds, one pass each, until a round agrees: the JIT moves all three forward
     * together and settles; a real order dependence (threads racing on a sum, a split that changes a sum)
     * never agrees, and the test fails after the last round with the differing logits.
     */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"deepseek2", "qwen3moe"})
    void threadCountDoesNotChangeALogit(String arch) throws IOException {
        Path file = synth(arch);
        int[] tokens = new int[TOKENS_PARALLEL_ATTENTION + 8];
        for (int i = 0; i < tokens.length; i++) {
            tokens[i] = (i * 7919) % 2000;
        }
        try (LanguageModel m1 = Models.load(file, new CpuBackend(1, Numerics.EXACT));
             LanguageModel m2 = Models.load(file, new CpuBackend(2, Numerics.EXACT));
             LanguageModel m3 = Models.load(file, new CpuBackend(3, Numerics.EXACT))) {
            float[] one = null, two = null, three = null;
            for (int round = 0; round < 16; round++) {
                one = m1.forward(m1.newState(tokens.length), tokens).clone();
                two = m2.forward(m2.newState(tokens.length), tokens).clone();
                three = m3.forward(m3.newState(tokens.length), tokens).clone();
                if (java.util.Arrays.equals(one, two) && java.util.Arrays.equals(one, three)) {
                    return;
                }
            }
            assertArrayEquals(one, two, arch + ": 2 threads vs 1 (16 rounds)");
            assertArrayEquals(one, three, arch + ": 3 threads vs 1 (16 rounds)");
        }
    }

    private Path synth(String arch) throws IOException {
        return synth(dir, arch);
    }

    static Path synth(Path dir, String arch) throws IOException {
        Path file = dir.resolve(arch + ".gguf");
        if (file.toFile().exists()) {
            return file;
        }
        // Q4_K 512 × 512 experts: 2 chosen = 6 matrices of 144 KiB, above the parallel-experts threshold;
        // the 2000 × 512 output matrix (562 KiB) is split by rows.
        SynthSpec.Builder b = SynthSpec.builder(arch).hidden(512).layers(2).heads(4).vocab(2000).ctx(256)
                .weightType(GgmlType.Q4_K).experts(8).used(2).expertFfn(512).seed(3);
        if (arch.equals("deepseek2")) {
            b.ffn(1024).leadingDense(1).sharedExperts(1).kvLoraRank(256).qLoraRank(256).ropeDims(32).nopeDims(64).vDim(64);
        } else {
            b.kvHeads(2).headDim(64);
        }
        new ModelSynthesizer(b.build()).write(file);
        return file;
    }

    private static void snapshot(com.sun.management.ThreadMXBean mx, long[] ids, long[] into) {
        for (int i = 0; i < ids.length; i++) {
            into[i] = mx.getThreadAllocatedBytes(ids[i]);
        }
    }

    private static void assumeAllocationCounting(com.sun.management.ThreadMXBean mx) {
        org.junit.jupiter.api.Assumptions.assumeTrue(mx.isThreadAllocatedMemorySupported(),
                "the JVM does not count allocated bytes per thread");
        if (!mx.isThreadAllocatedMemoryEnabled()) {
            mx.setThreadAllocatedMemoryEnabled(true);
        }
    }
}
