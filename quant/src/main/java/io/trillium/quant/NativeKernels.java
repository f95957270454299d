package io.trillium.quant;

import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * The C integer-route kernels (src/main/c), bundled in the jar as
 * {@code native/linux-x86_64/libtrillium_kernels.so} and reached through {@link Kernels#quantizedBest}.
 * They exist because the Vector API has no int8 dot-product op (vpmaddubsw/vpdpbusd), which caps
 * the Java K-quant kernels far below memory bandwidth. Any failure to load leaves {@link #status}
 * with the reason and every caller on the Java kernels; {@code -Dtrillium.native=false} disables them.
 */
final class NativeKernels {
    static final String RESOURCE = "/native/linux-x86_64/libtrillium_kernels.so";
    private static final int AVX2 = 1, AVX512_VNNI = 2;
    /** The weight types with a C kernel (symbols trillium_<type>_dot/_matvec_<variant>). */
    static final List<GgmlType> TYPES = List.of(GgmlType.Q2_K, GgmlType.Q3_K, GgmlType.Q4_K, GgmlType.Q5_K,
            GgmlType.Q6_K, GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.Q5_0, GgmlType.IQ4_NL, GgmlType.IQ4_XS,
            GgmlType.IQ2_XXS, GgmlType.IQ2_XS, GgmlType.IQ2_S, GgmlType.IQ3_XXS, GgmlType.IQ3_S, GgmlType.IQ1_S,
            GgmlType.IQ1_M, GgmlType.TQ1_0, GgmlType.TQ2_0);

    private static final String STATUS;
    private static final Map<GgmlType, QuantizedDotKernel> KERNELS;
    /** trillium_q8_K_quantize (AVX2, every variant has it), or null when the library did not load. */
    private static final MethodHandle Q8K_QUANTIZE;
    /** trillium_q8_0_quantize (AVX2), or null when the library did not load or predates it. */
    private static final MethodHandle Q80_QUANTIZE;
    /** The loaded library, and the variants this CPU can run, best first (empty when not loaded). */
    private static SymbolLookup lib;
    private static List<String> variants = List.of();

    static {
        String status;
        Map<GgmlType, QuantizedDotKernel> kernels = Map.of();
        try {
            load();
            kernels = kernels(variants.get(0));
            status = "native kernels: " + (variants.get(0).equals("vnni") ? "avx512-vnni" : "avx2");
        } catch (Throwable t) {
            variants = List.of();
            status = "native kernels unavailable: " + (t instanceof Unavailable ? t.getMessage() : t.toString());
        }
        STATUS = status;
        KERNELS = kernels;
        Q8K_QUANTIZE = quantizer("trillium_q8_K_quantize_avx2");
        Q80_QUANTIZE = quantizer("trillium_q8_0_quantize_avx2");
    }

    /** The activation quantizer {@code symbol} (AVX2, in every variant), or null: no library, or an older one. */
    private static MethodHandle quantizer(String symbol) {
        if (variants.isEmpty()) {
            return null;
        }
        try {
            return Linker.nativeLinker().downcallHandle(find(lib, symbol),
                    FunctionDescriptor.ofVoid(ADDRESS, ADDRESS, JAVA_LONG, JAVA_INT), Linker.Option.critical(false));
        } catch (Unavailable e) {
            return null;   // the Java quantizer
        }
    }

    /** Q8_0 activations quantized in C (bit for bit {@link io.trillium.quant.block.Q80Block#quantize}), or null. */
    static Quantizer q80Quantizer() {
        return Q80_QUANTIZE == null ? null : NativeKernels::quantizeQ80;
    }

    private static void quantizeQ80(float[] src, int srcOffset, MemorySegment dst, long dstOffset, int n) {
        if (!dst.isNative() || n % 32 != 0) {
            io.trillium.quant.block.Q80Block.quantize(src, srcOffset, dst, dstOffset, n);
            return;
        }
        quantizeNative(Q80_QUANTIZE, src, srcOffset, dst, dstOffset, n, GgmlType.Q8_0.bytesFor(n));
    }

    /** Q8_K activations quantized in C (bit for bit {@link io.trillium.quant.block.Q8KBlock#quantize}), or null. */
    static Quantizer q8KQuantizer() {
        return Q8K_QUANTIZE == null ? null : NativeKernels::quantizeQ8K;
    }

    /** This thread's native copy of the floats being quantized (grown, never shrunk). */
    private static final ThreadLocal<MemorySegment> SRC = new ThreadLocal<>();

    private static void quantizeQ8K(float[] src, int srcOffset, MemorySegment dst, long dstOffset, int n) {
        long bytes = GgmlType.Q8_K.bytesFor(n);
        if (!dst.isNative() || n % 256 != 0) {
            io.trillium.quant.block.Q8KBlock.quantize(src, srcOffset, dst, dstOffset, n);
            return;
        }
        quantizeNative(Q8K_QUANTIZE, src, srcOffset, dst, dstOffset, n, bytes);
    }

    /** {@code n} floats from {@code src} through this thread's native copy into {@code quantize}. */
    private static void quantizeNative(MethodHandle quantize, float[] src, int srcOffset, MemorySegment dst,
                                       long dstOffset, int n, long bytes) {
        Objects.checkFromIndexSize(srcOffset, n, src.length);
        Objects.checkFromIndexSize(dstOffset, bytes, dst.byteSize());
        MemorySegment in = SRC.get();
        if (in == null || in.byteSize() < 4L * n) {
            in = Arena.ofAuto().allocate(4L * Math.max(n, 8192), 64);
            SRC.set(in);
        }
        // a native copy rather than a heap segment: no critical region over the Java heap, nothing allocated
        MemorySegment.copy(src, srcOffset, in, ValueLayout.JAVA_FLOAT, 0, n);
        try {
            quantize.invokeExact(in, dst, dstOffset, n);
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    private NativeKernels() {
    }

    /** "native kernels: avx512-vnni" or "native kernels unavailable: reason". */
    static String status() {
        return STATUS;
    }

    /** The native kernel of {@code type}, or null. */
    static QuantizedDotKernel kernel(GgmlType type) {
        return KERNELS.get(type);
    }

    /**
     * The function {@code symbol} of the loaded library as a downcall handle, or null: no library, or one without
     * that symbol.
     */
    static MethodHandle function(String symbol, FunctionDescriptor descriptor, Linker.Option... options) {
        SymbolLookup l = lib;
        if (l == null || variants.isEmpty()) {
            return null;
        }
        return l.find(symbol).map(a -> Linker.nativeLinker().downcallHandle(a, descriptor, options)).orElse(null);
    }

    /** Variants ("vnni", "avx2") this CPU runs, best first; tests check each, not just the chosen one. */
    static List<String> variants() {
        return variants;
    }

    private static final class Unavailable extends Exception {
        Unavailable(String reason) {
            super(reason, null, false, false);
        }
    }

    private static void load() throws Throwable {
        if (!Boolean.parseBoolean(System.getProperty("trillium.native", "true"))) {
            throw new Unavailable("disabled by -Dtrillium.native=false");
        }
        String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
        String arch = System.getProperty("os.arch", "");
        if (!os.startsWith("linux") || !(arch.equals("amd64") || arch.equals("x86_64"))) {
            throw new Unavailable("no native build for " + os + "-" + arch);
        }
        Path file;
        try (InputStream in = NativeKernels.class.getResourceAsStream(RESOURCE)) {
            if (in == null) {
                throw new Unavailable(RESOURCE + " not bundled (built without a C compiler?)");
            }
            file = Files.createTempFile("libtrillium_kernels", ".so");
            Files.copy(in, file, StandardCopyOption.REPLACE_EXISTING);
        }
        SymbolLookup l;
        try {
            l = SymbolLookup.libraryLookup(file, Arena.global());
        } finally {
            // once mapped, the file is no longer needed; deleting now leaves nothing behind on a crash
            Files.deleteIfExists(file);
        }
        int features = (int) Linker.nativeLinker()
                .downcallHandle(find(l, "trillium_cpu_features"), FunctionDescriptor.of(JAVA_INT)).invokeExact();
        List<String> v = new ArrayList<>();
        if ((features & AVX512_VNNI) != 0) {
            v.add("vnni");
        }
        if ((features & AVX2) != 0) {
            v.add("avx2");
        }
        if (v.isEmpty()) {
            throw new Unavailable("CPU lacks AVX2/FMA/F16C");
        }
        // diagnostics: -Dtrillium.native.variant=avx2 runs the AVX2 kernels on an AVX-512 CPU (to measure them)
        String forced = System.getProperty("trillium.native.variant");
        if (forced != null) {
            if (!v.contains(forced)) {
                throw new Unavailable("-Dtrillium.native.variant=" + forced + ": this CPU runs " + v);
            }
            v.remove(forced);
            v.add(0, forced);
        }
        lib = l;
        variants = List.copyOf(v);
    }

    /** The kernels of one variant; callers pass only names from {@link #variants()}. */
    static Map<GgmlType, QuantizedDotKernel> kernels(String variant) throws Unavailable {
        Linker linker = Linker.nativeLinker();
        // dot is one row: short enough for a critical downcall (no thread-state transition)
        FunctionDescriptor dot = FunctionDescriptor.of(JAVA_FLOAT, ADDRESS, ADDRESS, JAVA_INT);
        FunctionDescriptor matVec = FunctionDescriptor.ofVoid(ADDRESS, JAVA_LONG, JAVA_INT, ADDRESS, ADDRESS, JAVA_INT, JAVA_INT);
        FunctionDescriptor matMul = FunctionDescriptor.ofVoid(ADDRESS, JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT,
                ADDRESS, JAVA_LONG, JAVA_INT, JAVA_INT);
        Map<GgmlType, QuantizedDotKernel> m = new EnumMap<>(GgmlType.class);
        for (GgmlType type : TYPES) {
            String name = "trillium_" + type.name().toLowerCase(Locale.ROOT).replace("_k", "_K");   // iq4_xs, q4_K
            m.put(type, new Kernel(type,
                    linker.downcallHandle(find(lib, name + "_dot_" + variant), dot, Linker.Option.critical(false)),
                    linker.downcallHandle(find(lib, name + "_matvec_" + variant), matVec),
                    linker.downcallHandle(find(lib, name + "_matmul_" + variant), matMul)));
        }
        return Map.copyOf(m);
    }

    private static MemorySegment find(SymbolLookup lib, String name) throws Unavailable {
        return lib.find(name).orElseThrow(() -> new Unavailable("symbol " + name + " missing"));
    }

    /**
     * One native kernel. Heap segments and lengths that are not whole blocks go to the Java kernel
     * (same results, and the C code never sees memory it cannot address).
     */
    private static final class Kernel implements QuantizedDotKernel {
        private static final ThreadLocal<MemorySegment> Y = new ThreadLocal<>();

        private final GgmlType type;
        private final GgmlType activation;
        private final QuantizedDotKernel java;
        private final MethodHandle dot;
        private final MethodHandle matVec;
        private final MethodHandle matMul;

        Kernel(GgmlType type, MethodHandle dot, MethodHandle matVec, MethodHandle matMul) {
            this.type = type;
            QuantizedDotKernel j = Kernels.quantized(type);
            this.java = j != null ? j : new Dequantized(type);
            this.activation = java.activationType();
            this.dot = dot;
            this.matVec = matVec;
            this.matMul = matMul;
        }

        @Override
        public GgmlType type() {
            return type;
        }

        /** This thread's native output buffer of at least {@code floats} floats (grown, never shrunk). */
        private static MemorySegment outputBuffer(long floats) {
            MemorySegment buf = Y.get();
            if (buf == null || buf.byteSize() < 4 * floats) {
                buf = Arena.ofAuto().allocate(4 * Math.max(floats, 1024), 64);
                Y.set(buf);
            }
            return buf;
        }

        @Override
        public GgmlType activationType() {
            return activation;
        }

        /** Row-interleaved kernels gather a block field of 16 rows with int32 offsets: 15 strides must fit. */
        private boolean strideOk(long rowStride, int n) {
            return rowStride >= type.bytesFor(n) && rowStride <= Integer.MAX_VALUE / 16;
        }

        private boolean nativeOk(MemorySegment w, MemorySegment xq, int n) {
            return w.isNative() && xq.isNative() && n >= 0 && n % type.blockSize() == 0;
        }

        @Override
        public float dot(MemorySegment w, long offset, MemorySegment xq, long xqOffset, int n) {
            if (!nativeOk(w, xq, n)) {
                return java.dot(w, offset, xq, xqOffset, n);
            }
            // slices check bounds and liveness before C reads the memory
            MemorySegment ws = w.asSlice(offset, type.bytesFor(n));
            MemorySegment xs = xq.asSlice(xqOffset, activation.bytesFor(n));
            try {
                return (float) dot.invokeExact(ws, xs, n);
            } catch (Throwable t) {
                throw new IllegalStateException(t);
            }
        }

        @Override
        public void matVec(MemorySegment w, long offset, long rowStride, MemorySegment xq, int n,
                           float[] y, int rowStart, int rowEnd) {
            Objects.checkFromToIndex(rowStart, rowEnd, y.length);
            int rows = rowEnd - rowStart;
            if (rows == 0) {
                return;
            }
            if (!nativeOk(w, xq, n) || !strideOk(rowStride, n)) {
                java.matVec(w, offset, rowStride, xq, n, y, rowStart, rowEnd);
                return;
            }
            MemorySegment ws = w.asSlice(offset + rowStart * rowStride, (rows - 1) * rowStride + type.bytesFor(n));
            MemorySegment xs = xq.asSlice(0, activation.bytesFor(n));
            // C writes a per-thread native buffer, copied into y: a heap y would need a critical
            // downcall that holds off GC for the whole mat-vec
            MemorySegment buf = outputBuffer(rows);
            try {
                matVec.invokeExact(ws, rowStride, n, xs, buf, 0, rows);
            } catch (Throwable t) {
                throw new IllegalStateException(t);
            }
            MemorySegment.copy(buf, ValueLayout.JAVA_FLOAT, 0, y, rowStart, rows);
        }

        @Override
        public void matMul(MemorySegment w, long offset, long rowStride, MemorySegment xq, long xqStride, int tokens,
                           int n, float[] y, int yOff, int yStride, int rowStart, int rowEnd) {
            int rows = rowEnd - rowStart;
            if (rows <= 0 || tokens <= 0) {
                return;
            }
            Objects.checkFromIndexSize(yOff + rowStart, rows, y.length);
            Objects.checkFromIndexSize(yOff + rowStart + (long) (tokens - 1) * yStride, rows, y.length);
            if (!nativeOk(w, xq, n) || !strideOk(rowStride, n) || xqStride < activation.bytesFor(n)) {
                QuantizedDotKernel.super.matMul(w, offset, rowStride, xq, xqStride, tokens, n, y, yOff, yStride,
                        rowStart, rowEnd);
                return;
            }
            MemorySegment ws = w.asSlice(offset + rowStart * rowStride, (rows - 1) * rowStride + type.bytesFor(n));
            MemorySegment xs = xq.asSlice(0, (tokens - 1) * xqStride + activation.bytesFor(n));
            MemorySegment buf = outputBuffer((long) rows * tokens);
            try {
                matMul.invokeExact(ws, rowStride, n, xs, xqStride, tokens, buf, (long) rows, 0, rows);
            } catch (Throwable t) {
                throw new IllegalStateException(t);
            }
            for (int t = 0; t < tokens; t++) {
                MemorySegment.copy(buf, ValueLayout.JAVA_FLOAT, 4L * t * rows, y, yOff + t * yStride + rowStart, rows);
            }
        }
    }

    /**
     * The fallback of types without a Java integer route (Q2_K, Q3_K, Q5_K, Q5_0, IQ4_NL, IQ4_XS, the i-quants): dequantize
     * weights and Q8_0/Q8_K activations, dot in double. Only heap segments and partial blocks take it.
     */
    private record Dequantized(GgmlType type) implements QuantizedDotKernel {
        @Override
        public GgmlType activationType() {
            return type.blockSize() == 256 ? GgmlType.Q8_K : GgmlType.Q8_0;
        }

        @Override
        public float dot(MemorySegment w, long offset, MemorySegment xq, long xqOffset, int n) {
            int whole = n / type.blockSize() * type.blockSize();
            float[] wd = new float[whole], xd = new float[whole];
            Kernels.reference(type).dequantize(w, offset, wd, 0, whole);
            Kernels.reference(activationType()).dequantize(xq, xqOffset, xd, 0, whole);
            double sum = 0;
            for (int i = 0; i < whole; i++) {
                sum += (double) wd[i] * xd[i];
            }
            return (float) sum;
        }
    }
}
