package io.trillium.sample;

/**
 * Per-thread scratch arrays, grown to the vocabulary once and then reused, so that the built-ins stay
 * stateless (shareable across threads) yet allocate nothing per call after the first.
 */
final class Scratch {
    private Scratch() {}

    private static final ThreadLocal<long[]> KEYS = ThreadLocal.withInitial(() -> new long[0]);
    private static final ThreadLocal<int[]> COUNTS = ThreadLocal.withInitial(() -> new int[0]);

    /** A long array of at least {@code n} entries (contents unspecified). */
    static long[] keys(int n) {
        long[] a = KEYS.get();
        if (a.length < n) KEYS.set(a = new long[n]);
        return a;
    }

    /** An int array of at least {@code n} entries, all zero; callers must leave it all zero. */
    static int[] counts(int n) {
        int[] a = COUNTS.get();
        if (a.length < n) COUNTS.set(a = new int[n]);
        return a;
    }

    /**
     * Writes one key per candidate token (logit neither −∞ nor NaN, which are already out) into the
     * scratch and returns their number {@code m}. Ascending key order is descending logit, ties by
     * ascending id; the id is the low 32 bits. Keys are unique, so a rank cut is exact.
     */
    static int candidateKeys(float[] logits, long[] keys) {
        int m = 0;
        for (int i = 0; i < logits.length; i++) {
            float v = logits[i];
            if (v == Float.NEGATIVE_INFINITY || Float.isNaN(v)) continue;
            int b = Float.floatToIntBits(v);
            b ^= (b >> 31) & 0x7fffffff; // monotone float → signed int
            keys[m++] = ((long) ~b << 32) | i; // ~ reverses the order: largest logit first
        }
        return m;
    }

    /**
     * Quickselect: reorders {@code a[0..n)} so that {@code a[k]} holds the key of rank {@code k} with
     * smaller keys before it and larger after. Expected O(n), cheaper than sorting a whole vocabulary.
     */
    static void select(long[] a, int n, int k) {
        int lo = 0, hi = n - 1;
        while (hi > lo) {
            int mid = (lo + hi) >>> 1;
            if (a[mid] < a[lo]) swap(a, lo, mid); // median of three guards against sorted input
            if (a[hi] < a[lo]) swap(a, lo, hi);
            if (a[hi] < a[mid]) swap(a, mid, hi);
            long pivot = a[mid];
            int i = lo, j = hi;
            while (i <= j) {
                while (a[i] < pivot) i++;
                while (a[j] > pivot) j--;
                if (i <= j) swap(a, i++, j--);
            }
            if (k <= j) hi = j;
            else if (k >= i) lo = i;
            else return;
        }
    }

    private static void swap(long[] a, int i, int j) {
        long t = a[i];
        a[i] = a[j];
        a[j] = t;
    }

    static int id(long key) {
        return (int) key;
    }

    /** Index of the largest logit, ties → lowest id; 0 when all are NaN. */
    static int argmax(float[] logits) {
        int best = 0;
        float max = Float.NEGATIVE_INFINITY;
        boolean found = false;
        for (int i = 0; i < logits.length; i++) {
            float v = logits[i];
            if (v > max || (!found && v == max)) {
                max = v;
                best = i;
                found = true;
            }
        }
        return best;
    }
}
