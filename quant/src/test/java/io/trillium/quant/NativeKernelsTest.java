package io.trillium.quant;

import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/** The native (C) integer-route kernels against the Java integer route and the float64 reference. */
class NativeKernelsTest {
    static final GgmlType[] TYPES = NativeKernels.TYPES.toArray(GgmlType[]::new);

    static boolean bundledHere() {
        String arch = System.getProperty("os.arch");
        return NativeKernels.class.getResource(NativeKernels.RESOURCE) != null
                && System.getProperty("os.name").toLowerCase().startsWith("linux")
                && (arch.equals("amd64") || arch.equals("x86_64"));
    }

    static boolean enabled() {
        return Boolean.parseBoolean(System.getProperty("trillium.native", "true"));
    }

    /** Where the build produced the library (gcc present, as here and on CI), it must load. */
    @Test
    void loadsWhereBuilt() {
        System.out.println(Kernels.nativeStatus() + ", variants here: " + NativeKernels.variants());
        String status = Kernels.nativeStatus();
        if (bundledHere() && enabled()) {
            assertTrue(status.startsWith("native kernels: "), status);
            for (GgmlType t : TYPES) {
                assertNotNull(Kernels.quantizedBest(t), t.toString());
                assertNotSame(Kernels.quantized(t), Kernels.quantizedBest(t), t.toString());
            }
        } else {
            assertTrue(status.startsWith("native kernels unavailable: "), status);
        }
        // what quantizedBest cannot serve natively still gets the Java route
        assertNull(Kernels.quantizedBest(GgmlType.F32));
        assertSame(Kernels.quantized(GgmlType.Q4_K).activationType(), Kernels.quantizedBest(GgmlType.Q4_K).activationType());
        assertSame(Kernels.quantized(GgmlType.Q8_0).activationType(), Kernels.quantizedBest(GgmlType.Q8_0).activationType());
    }

    record Case(String variant, GgmlType type, QuantizedDotKernel kernel) {
    }

    /** Each type on every native variant this CPU runs (not only the chosen one), or on Java where none loads. */
    static List<Case> cases() throws Exception {
        List<Case> cases = new ArrayList<>();
        for (String v : NativeKernels.variants()) {
            Map<GgmlType, QuantizedDotKernel> m = NativeKernels.kernels(v);
            for (GgmlType t : TYPES) {
                cases.add(new Case(v, t, m.get(t)));
            }
        }
        if (cases.isEmpty()) {
            for (GgmlType t : TYPES) {
                if (Kernels.quantizedBest(t) != null) {
                    cases.add(new Case("java", t, Kernels.quantizedBest(t)));
                }
            }
        }
        return cases;
    }

    static MemorySegment weights(GgmlType t, long blocks, Random r, boolean extreme) {
        if (t.blockSize() == 256) {
            return KQuantKernelsTest.randomBlocks(t, blocks, r, extreme);
        }
        MemorySegment s = Arena.ofAuto().allocate(blocks * t.blockBytes());
        Block32Data.fill(t, s, 0, blocks * t.blockSize(), r, extreme ? Block32Data.EXTREME_SCALES : null);
        return s;
    }

    static MemorySegment activations(GgmlType at, float[] x) {
        MemorySegment xq = Arena.ofAuto().allocate(at.bytesFor(x.length));
        Kernels.quantizer(at).quantize(x, 0, xq, 0, x.length);
        return xq;
    }

    /**
     * The batched product (prefill) of every type on every variant: each (row, token) is bit for bit the
     * one-row dot of that token alone, for 1 to 9 tokens (partial token tiles), a row range that starts
     * inside the matrix, odd lengths of rows and extreme blocks; nothing outside the range is written.
     */
    @Test
    void matMulIsBitIdenticalToTheDotOfEachToken() throws Exception {
        Random r = new Random(17);
        for (Case c : cases()) {
            GgmlType t = c.type();
            // 32-blocks also as a long row (37 blocks: more than one unpacked tile of blocks, an odd count) and
            // 17 tokens (more than one tile of tokens), 23 rows (a full and a partial group of 16); 256-blocks
            // also over 53 rows from row 3 (Q4_K's 32-row pass, then a group of 16 and a partial one)
            int[][] shapes = t.blockSize() == 256 ? new int[][] {{1024, 13, 2, 11}, {512, 56, 3, 56}}
                    : new int[][] {{320, 13, 2, 11}, {32 * 37, 23, 1, 22}};
            for (int[] shape : shapes) {
                matMulCase(c, shape[0], shape[1], shape[2], shape[3], r);
            }
        }
    }

    private static void matMulCase(Case c, int n, int rows, int r0, int r1, Random r) throws Exception {
        GgmlType t = c.type();
        GgmlType at = c.kernel().activationType();
        for (int tokens : new int[] {1, 3, 4, 5, 9, 17, 66}) {   // 66: past a chunk of 64 tokens, then 2
            boolean extreme = tokens == 5;
            MemorySegment w = weights(t, (long) rows * (n / t.blockSize()), r, extreme);
            long rb = t.bytesFor(n);
            long xs = at.bytesFor(n) + 64;   // a stride beyond one vector's blocks
            MemorySegment xq = Arena.ofAuto().allocate(xs * tokens);
            for (int k = 0; k < tokens; k++) {
                Kernels.quantizer(at).quantize(KQuantKernelsTest.randomX(n, r), 0, xq, k * xs, n);
            }
            int yOff = 3, yStride = rows + 4;
            float[] y = new float[yOff + tokens * yStride];
            java.util.Arrays.fill(y, -7f);
            c.kernel().matMul(w, 0, rb, xq, xs, tokens, n, y, yOff, yStride, r0, r1);
            for (int k = 0; k < tokens; k++) {
                for (int row = 0; row < rows; row++) {
                    float got = y[yOff + k * yStride + row];
                    if (row < r0 || row >= r1) {
                        assertEquals(-7f, got, c + ": wrote row " + row + " outside the range");
                        continue;
                    }
                    float want = c.kernel().dot(w, row * rb, xq, k * xs, n);
                    assertEquals(Float.floatToRawIntBits(want), Float.floatToRawIntBits(got),
                            c + " " + tokens + " tokens: row " + row + " token " + k + ": " + got + " vs dot " + want);
                }
            }
        }
    }

    /** The C Q8_0 quantizer writes the Java (ggml) quantizer's bytes: ordinary, tied, zero, huge and tiny blocks. */
    @Test
    void q80QuantizerWritesTheJavaBytes() {
        Quantizer c = NativeKernels.q80Quantizer();
        if (c == null) {
            assertFalse(bundledHere() && enabled(), "the library loaded but has no Q8_0 quantizer");
            return;
        }
        assertSame(c.getClass(), Kernels.quantizer(GgmlType.Q8_0).getClass(), "Q8_0 activations go through C");
        Random r = new Random(29);
        int n = 32 * 40;
        for (int rep = 0; rep < 60; rep++) {
            float[] x = new float[n + 3];
            for (int i = 0; i < x.length; i++) {
                x[i] = (float) (r.nextGaussian() * Math.pow(10, r.nextInt(9) - 4));
            }
            java.util.Arrays.fill(x, 3 + 32, 3 + 64, 0f);                    // an all-zero block
            for (int i = 3 + 64; i < 3 + 96; i++) {                          // d = 1: x * id = k + 1/2, ties away from 0
                x[i] = ((i % 9) - 4) * 0.5f;
            }
            x[3 + 64] = 127f;
            x[3 + 128] = -3e38f;                                             // huge and tiny values
            x[3 + 160] = 1e-39f;
            x[3 + 192 + r.nextInt(32)] = -1e-30f * (rep + 1);                 // a block of one tiny value
            for (int i = 3 + 224; i < 3 + 256; i++) {
                x[i] = (float) r.nextGaussian() * (i % 2 == 0 ? 1e20f : 1e-20f);
            }
            MemorySegment want = Arena.ofAuto().allocate(GgmlType.Q8_0.bytesFor(n) + 8);
            MemorySegment got = Arena.ofAuto().allocate(GgmlType.Q8_0.bytesFor(n) + 8);
            io.trillium.quant.block.Q80Block.quantize(x, 3, want, 8, n);
            got.fill((byte) 0x5A);
            c.quantize(x, 3, got, 8, n);
            assertEquals(-1, want.asSlice(8).mismatch(got.asSlice(8)), "rep " + rep + ": first differing byte");
        }
    }

    /** The C Q8_K quantizer writes the Java (ggml) quantizer's bytes: ordinary, tied, zero, huge and tiny blocks. */
    @Test
    void q8KQuantizerWritesTheJavaBytes() {
        Quantizer c = NativeKernels.q8KQuantizer();
        if (c == null) {
            assertFalse(bundledHere() && enabled(), "the library loaded but has no Q8_K quantizer");
            return;
        }
        assertSame(c.getClass(), Kernels.quantizer(GgmlType.Q8_K).getClass(), "Q8_K activations go through C");
        Random r = new Random(23);
        int n = 256 * 9;
        for (int rep = 0; rep < 40; rep++) {
            float[] x = new float[n + 3];
            for (int i = 0; i < x.length; i++) {
                x[i] = (float) (r.nextGaussian() * Math.pow(10, r.nextInt(7) - 3));
            }
            java.util.Arrays.fill(x, 3 + 256, 3 + 512, 0f);                  // an all-zero block
            x[3 + 600] = 5f;                                                  // a tie of magnitudes: the first wins
            x[3 + 700] = -5f;
            for (int i = 3 + 768; i < 3 + 1024; i++) {
                x[i] = (i % 7) * 0.5f - 1.5f;                                 // halves: rounding ties to even
            }
            x[3 + 1100] = -3e38f;                                             // huge and tiny values
            x[3 + 1300] = 1e-39f;
            MemorySegment want = Arena.ofAuto().allocate(GgmlType.Q8_K.bytesFor(n) + 8);
            MemorySegment got = Arena.ofAuto().allocate(GgmlType.Q8_K.bytesFor(n) + 8);
            io.trillium.quant.block.Q8KBlock.quantize(x, 3, want, 8, n);
            got.fill((byte) 0x5A);
            c.quantize(x, 3, got, 8, n);
            assertEquals(-1, want.asSlice(8).mismatch(got.asSlice(8)), "rep " + rep + ": first differing byte");
        }
    }

    @Test
    void dotEqualsJavaAndFloat64Reference() throws Exception {
        Random r = new Random(5);
        for (Case c : cases()) {
            GgmlType t = c.type();
            QuantizedDotKernel nat = c.kernel(), java = Kernels.quantized(t);
            assertEquals(t, nat.type());
            assertEquals(t.blockSize() == 256 ? GgmlType.Q8_K : GgmlType.Q8_0, nat.activationType());
            GgmlType at = nat.activationType();
            int[] lengths = t.blockSize() == 256 ? new int[] {256, 512, 2816, 4096, 7168}
                    : new int[] {32, 64, 96, 1024, 2048 + 32, 7168};
            for (boolean extreme : new boolean[] {false, true}) {
                for (int n : lengths) {
                    for (int rep = 0; rep < 3; rep++) {
                        MemorySegment w = weights(t, n / t.blockSize(), r, extreme);
                        float[] x = KQuantKernelsTest.randomX(n, r);
                        if (extreme && rep == 1) {
                            x[r.nextInt(n)] = -1e4f; // one dominant activation: most quants round to 0
                        }
                        MemorySegment xq = activations(at, x);
                        float[] wd = new float[n], xd = new float[n];
                        Kernels.reference(t).dequantize(w, 0, wd, 0, n);
                        Kernels.reference(at).dequantize(xq, 0, xd, 0, n);
                        double ref = 0, mag = 0;
                        for (int i = 0; i < n; i++) {
                            ref += (double) wd[i] * xd[i];
                            mag += Math.abs((double) wd[i] * xd[i]);
                        }
                        String what = c.variant() + " " + t + " n=" + n + " extreme=" + extreme;
                        float got = nat.dot(w, 0, xq, 0, n);
                        KQuantKernelsTest.assertDot(ref, mag, got, n, what + " vs float64");
                        if (java != null) { // Q2_K, Q3_K, Q5_K have no Java integer route
                            KQuantKernelsTest.assertDot(java.dot(w, 0, xq, 0, n), 2 * mag, got, n, what + " vs java");
                        }
                    }
                }
            }
        }
    }

    @Test
    void matVecRowRangesAndOffsets() throws Exception {
        Random r = new Random(9);
        int rows = 13;
        for (Case c : cases()) {
            GgmlType t = c.type();
            QuantizedDotKernel nat = c.kernel(), java = Kernels.quantized(t);
            GgmlType at = nat.activationType();
            for (int n : new int[] {t.blockSize(), 1024, 2816 / t.blockSize() * t.blockSize()}) {
                long rowBytes = t.bytesFor(n) + t.blockBytes(); // padded rows: stride > row bytes
                long offset = t.blockBytes();
                MemorySegment blocks = weights(t, (offset + rows * rowBytes) / t.blockBytes(), r, false);
                // at an odd address, to catch alignment assumptions
                MemorySegment w = Arena.ofAuto().allocate(blocks.byteSize() + 1).asSlice(1).copyFrom(blocks);
                MemorySegment xq = activations(at, KQuantKernelsTest.randomX(n, r));
                for (int[] range : List.of(new int[] {0, rows}, new int[] {2, 7}, new int[] {12, 13}, new int[] {5, 5})) {
                    float[] y = new float[rows];
                    Arrays.fill(y, Float.NaN);
                    nat.matVec(w, offset, rowBytes, xq, n, y, range[0], range[1]);
                    for (int row = 0; row < rows; row++) {
                        String what = c.variant() + " " + t + " n=" + n + " row " + row + " of " + Arrays.toString(range);
                        if (row < range[0] || row >= range[1]) {
                            assertTrue(Float.isNaN(y[row]), what + " written");
                        } else {
                            long o = offset + row * rowBytes;
                            assertEquals(nat.dot(w, o, xq, 0, n), y[row], what);
                            if (java != null) {
                                float j = java.dot(w, o, xq, 0, n);
                                assertEquals(j, y[row], 1e-4 * Math.abs(j) + 1e-3, what + " vs java");
                            }
                        }
                    }
                }
            }
        }
    }

    /**
     * Heap segments cannot be passed to C; they take the Java integer route (the same result), or
     * for types that have none (Q2_K, Q3_K, Q5_K), a dequantizing float64 dot (equal up to rounding).
     */
    @Test
    void heapSegmentsFallBackToJava() throws Exception {
        Random r = new Random(13);
        for (Case c : cases()) {
            GgmlType t = c.type();
            QuantizedDotKernel nat = c.kernel();
            int n = 4 * 256;
            MemorySegment w = weights(t, n / t.blockSize(), r, false);
            MemorySegment xq = activations(nat.activationType(), KQuantKernelsTest.randomX(n, r));
            MemorySegment wh = MemorySegment.ofArray(w.toArray(ValueLayout.JAVA_BYTE));
            MemorySegment xh = MemorySegment.ofArray(xq.toArray(ValueLayout.JAVA_BYTE));
            QuantizedDotKernel java = Kernels.quantized(t);
            float expected = java != null ? java.dot(w, 0, xq, 0, n) : nat.dot(w, 0, xq, 0, n);
            float tol = java != null ? 0 : 1e-4f * (Math.abs(expected) + 1);
            assertEquals(expected, nat.dot(wh, 0, xh, 0, n), tol, c.variant() + " " + t);
            float[] y = new float[1];
            nat.matVec(wh, 0, t.bytesFor(n), xh, n, y, 0, 1);
            assertEquals(expected, y[0], tol, c.variant() + " " + t);
        }
    }

    /** Out-of-bounds reads are refused in Java before C sees the memory. */
    @Test
    void boundsAreChecked() throws Exception {
        for (Case c : cases()) {
            GgmlType t = c.type();
            QuantizedDotKernel nat = c.kernel();
            int n = 512;
            MemorySegment w = Arena.ofAuto().allocate(t.bytesFor(n) - 1);
            MemorySegment xq = Arena.ofAuto().allocate(nat.activationType().bytesFor(n));
            assertThrows(IndexOutOfBoundsException.class, () -> nat.dot(w, 0, xq, 0, n));
            assertThrows(IndexOutOfBoundsException.class, () -> nat.matVec(w, 0, t.bytesFor(n), xq, n, new float[1], 0, 1));
        }
    }

    /** With -Dtrillium.native=false (in a fresh JVM: the choice is made once) everything runs on Java. */
    @Test
    void disabledFallsBackToJava() throws Exception {
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        Process p = new ProcessBuilder(java.toString(), "--add-modules", "jdk.incubator.vector",
                "--enable-native-access=ALL-UNNAMED", "-Dtrillium.native=false",
                "-cp", System.getProperty("java.class.path"), Disabled.class.getName())
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertEquals(0, p.waitFor(), out);
        assertTrue(out.contains("native kernels unavailable: disabled by -Dtrillium.native=false"), out);
        assertTrue(out.contains("java route ok"), out);
    }

    /** -Dtrillium.native.variant=avx2 (diagnostics) selects the AVX2 kernels on a CPU that runs both; a variant the CPU lacks is refused. */
    @Test
    void variantCanBeChosenForMeasurements() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(NativeKernels.variants().contains("avx2"), "no native AVX2 kernels here");
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        for (String v : new String[] {"avx2", "sse9"}) {
            Process p = new ProcessBuilder(java.toString(), "--add-modules", "jdk.incubator.vector",
                    "--enable-native-access=ALL-UNNAMED", "-Dtrillium.native.variant=" + v,
                    "-cp", System.getProperty("java.class.path"), Status.class.getName())
                    .redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes());
            assertEquals(0, p.waitFor(), out);
            assertTrue(out.contains(v.equals("avx2") ? "native kernels: avx2"
                    : "native kernels unavailable: -Dtrillium.native.variant=sse9: this CPU runs"), out);
        }
    }

    static final class Status {
        public static void main(String[] args) {
            System.out.println(Kernels.nativeStatus());
        }
    }

    static final class Disabled {
        public static void main(String[] args) {
            System.out.println(Kernels.nativeStatus());
            Random r = new Random(1);
            for (GgmlType t : TYPES) {
                QuantizedDotKernel k = Kernels.quantizedBest(t);
                if (k != Kernels.quantized(t)) {
                    throw new AssertionError(t + ": not the Java kernel");
                }
                if (k == null) {
                    continue; // no Java integer route (Q2_K, Q3_K, Q5_K, Q5_0, IQ4_NL, IQ4_XS)
                }
                int n = 512;
                MemorySegment w = weights(t, n / t.blockSize(), r, false);
                MemorySegment xq = activations(k.activationType(), KQuantKernelsTest.randomX(n, r));
                float[] y = new float[2];
                k.matVec(w, 0, 0, xq, n, y, 0, 2);
                if (y[0] != k.dot(w, 0, xq, 0, n)) {
                    throw new AssertionError(t);
                }
            }
            System.out.println("java route ok");
        }
    }
}
