package io.trillium.quant;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.util.List;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * Attention's two float products over a cache every query row shares (MLA's latent cache) in C
 * ({@code src/main/c/attention.c}): the scores of rows × positions and the weighted sums of the cached values.
 * C2 compiles the Java tiles ({@link VectorMath#scores4x2}, {@link VectorMath#axpyRows4}) to about 40 % and
 * 55 % of the FMA peak and boxes larger ones; the C register tiles (4 × 6 scores, 4 × 4 vectors of values with
 * AVX-512) reach about 80 % and 90 % on aligned rows. The Java heap's arrays start 16 bytes past a cache line,
 * so most vector loads split two lines, and what is left is about 1.35× the Java kernels (64 heads × 256
 * positions, 530 → 390 µs on a 2-core Xeon; copying the keys to aligned memory first paid only with many rows).
 *
 * <p>Each product sums exactly as the Java kernels do at the same vector width: a score as
 * {@link VectorMath#dot1} (one accumulator per pair, lanes folded in halves, then the scalar tail), a value
 * element as {@link VectorMath#axpy} once per position. The AVX-512 variant uses 16 lanes and the AVX2 one 8,
 * the Java widths on such CPUs, so C and Java give the same bits there ({@link #lanes}), and a query's result
 * never depends on the tile or the call it falls in.
 *
 * <p>The arrays are the Java heap's (the KV cache and its scratch): the calls are critical downcalls with heap
 * access, which hold off the garbage collector while they run; callers keep each call to at most
 * {@link #MAX_POSITIONS} positions so that a pause stays short.
 */
public final class NativeAttention {
    /** Positions one call may take: a call's time (and the GC's wait for it) stays around a millisecond. */
    public static final int MAX_POSITIONS = 2048;

    private static final NativeAttention BEST;

    static {
        List<String> v = NativeKernels.variants();
        BEST = v.isEmpty() ? null : of(v.get(0));
    }

    private final String variant;
    private final int lanes;
    private final MethodHandle scores;
    private final MethodHandle values;

    private NativeAttention(String variant, MethodHandle scores, MethodHandle values) {
        this.variant = variant;
        this.lanes = variant.equals("vnni") ? 16 : 8;
        this.scores = scores;
        this.values = values;
    }

    /** The kernels of the native variant the other native kernels use, or null (no library, or disabled). */
    public static NativeAttention best() {
        return BEST;
    }

    /** The kernels of each variant this CPU runs, best first (tests check every one). */
    public static List<NativeAttention> variants() {
        return NativeKernels.variants().stream().map(NativeAttention::of).filter(java.util.Objects::nonNull).toList();
    }

    private static NativeAttention of(String variant) {
        Linker.Option heap = Linker.Option.critical(true);
        MethodHandle s = NativeKernels.function("trillium_attn_scores_" + variant, FunctionDescriptor.ofVoid(ADDRESS,
                JAVA_LONG, JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_FLOAT, ADDRESS,
                JAVA_LONG, JAVA_LONG), heap);
        MethodHandle v = NativeKernels.function("trillium_attn_values_" + variant, FunctionDescriptor.ofVoid(ADDRESS,
                JAVA_LONG, JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_LONG, ADDRESS, JAVA_LONG, JAVA_LONG, JAVA_INT,
                JAVA_INT, JAVA_INT), heap);
        return s == null || v == null ? null : new NativeAttention(variant, s, v);
    }

    /** "vnni" (AVX-512) or "avx2". */
    public String variant() {
        return variant;
    }

    /** Floats per vector, which fixes the summation order (the Java kernels' at {@link VectorMath#lanes()} equal). */
    public int lanes() {
        return lanes;
    }

    /**
     * {@code out[outOff + r·outStride + p] = (q[qOff + r·qStride ..] · c[cOff + p·cStride ..]) · scale} over
     * {@code n} floats, for rows {@code r < rows} and positions {@code p < npos} (≤ {@link #MAX_POSITIONS}).
     */
    public void scores(float[] q, int qOff, int qStride, int rows, float[] c, int cOff, int cStride, int npos, int n,
                       float scale, float[] out, int outOff, int outStride) {
        check(npos, rows, n);
        java.util.Objects.checkFromIndexSize(qOff, rows == 0 ? 0 : (long) (rows - 1) * qStride + n, q.length);
        java.util.Objects.checkFromIndexSize(cOff, npos == 0 ? 0 : (long) (npos - 1) * cStride + n, c.length);
        java.util.Objects.checkFromIndexSize(outOff, rows == 0 || npos == 0 ? 0 : (long) (rows - 1) * outStride + npos,
                out.length);
        try {
            HeapSegments h = HEAP.get();
            scores.invokeExact(h.of(q), (long) qOff, (long) qStride, rows, h.of(c), (long) cOff, (long) cStride, npos,
                    n, scale, h.of(out), (long) outOff,
                    (long) outStride);
        } catch (Throwable t) {
            throw new IllegalStateException("native attention scores", t);
        }
    }

    /**
     * {@code o[oOff + r·oStride + j] = Σ_p att[attOff + r·attStride + p] · c[cOff + p·cStride + j]} for rows
     * {@code r < rows}, elements {@code j < n} and positions {@code p < npos} (≤ {@link #MAX_POSITIONS}; none: zeros);
     * with {@code add}, the sums continue from {@code o}'s values (the next positions of a longer cache).
     */
    public void values(float[] o, int oOff, int oStride, int rows, float[] att, int attOff, int attStride, float[] c,
                       int cOff, int cStride, int npos, int n, boolean add) {
        check(npos, rows, n);
        java.util.Objects.checkFromIndexSize(oOff, rows == 0 ? 0 : (long) (rows - 1) * oStride + n, o.length);
        java.util.Objects.checkFromIndexSize(attOff, rows == 0 || npos == 0 ? 0 : (long) (rows - 1) * attStride + npos,
                att.length);
        java.util.Objects.checkFromIndexSize(cOff, npos == 0 ? 0 : (long) (npos - 1) * cStride + n, c.length);
        try {
            HeapSegments h = HEAP.get();
            values.invokeExact(h.of(o), (long) oOff, (long) oStride, rows, h.of(att), (long) attOff, (long) attStride,
                    h.of(c), (long) cOff, (long) cStride, npos, n, add ? 1 : 0);
        } catch (Throwable t) {
            throw new IllegalStateException("native attention values", t);
        }
    }

    private static final ThreadLocal<HeapSegments> HEAP = ThreadLocal.withInitial(HeapSegments::new);

    /**
     * This thread's segments over the arrays it passed before. {@code MemorySegment.ofArray} allocates two objects
     * that escape into the downcall, and the decode loop must allocate nothing; the arrays a thread passes are few
     * and long-lived (a state's scratch, one cache array per layer). Keys and segments are held weakly: a segment
     * keeps its array alive, so a strong one here would keep a closed model's cache alive as long as the thread;
     * a weak one is dropped at the next collection and made again at its next use (no collection: no allocation).
     * One instance per thread, so no entry is ever read while another thread writes it.
     */
    private static final class HeapSegments {
        private static final int SLOTS = 256;   // a power of two, several times the arrays of one forward pass
        private final java.lang.ref.WeakReference<?>[] keys = new java.lang.ref.WeakReference<?>[SLOTS];
        @SuppressWarnings("unchecked")
        private final java.lang.ref.WeakReference<MemorySegment>[] segments = new java.lang.ref.WeakReference[SLOTS];

        MemorySegment of(float[] a) {
            int h = System.identityHashCode(a);
            int free = -1;
            for (int i = 0; i < 8; i++) {   // linear probing over a few slots
                int k = (h + i) & (SLOTS - 1);
                java.lang.ref.WeakReference<?> key = keys[k];
                Object held = key == null ? null : key.get();
                if (held == a) {
                    MemorySegment s = segments[k].get();
                    if (s != null) {
                        return s;
                    }
                    return put(k, a);
                }
                if (held == null && free < 0) {
                    free = k;
                }
            }
            return put(free >= 0 ? free : h & (SLOTS - 1), a);   // full around here: the home slot is replaced
        }

        private MemorySegment put(int k, float[] a) {
            MemorySegment s = MemorySegment.ofArray(a);
            keys[k] = new java.lang.ref.WeakReference<>(a);
            segments[k] = new java.lang.ref.WeakReference<>(s);
            return s;
        }
    }

    private static void check(int npos, int rows, int n) {
        if (npos < 0 || npos > MAX_POSITIONS || rows < 0 || n < 0) {
            throw new IllegalArgumentException("native attention: " + rows + " rows, " + npos + " positions (at most "
                    + MAX_POSITIONS + "), " + n + " floats");
        }
    }

    @Override
    public String toString() {
        return "native attention (" + variant + ", " + lanes + " lanes)";
    }
}
