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
     * Fills {@code keys[0..n)} so that an ascending sort orders ids by descending logit, ties by
     * ascending id; the id is the low 32 bits. NaN sorts last.
     */
    static long[] sortedByLogitDesc(float[] logits) {
        int n = logits.length;
        long[] keys = keys(n);
        for (int i = 0; i < n; i++) {
            int b = Float.floatToIntBits(logits[i]);
            b ^= (b >> 31) & 0x7fffffff; // monotone float → signed int
            keys[i] = ((long) ~b << 32) | i; // ~ reverses the order: largest logit first
        }
        java.util.Arrays.sort(keys, 0, n);
        return keys;
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
