package io.trillium.tokenizer;

/**
 * (left id, right id) → (rank, merged id), open addressing on primitive longs: the BPE inner loop
 * looks pairs up millions of times per second and must not box.
 */
final class MergeTable {
    private final long[] keys;
    private final long[] values;
    private final int mask;
    private int size;

    MergeTable(int expected) {
        int cap = Integer.highestOneBit(Math.max(16, expected * 2 + 1)) << 1;
        keys = new long[cap];
        values = new long[cap];
        java.util.Arrays.fill(keys, -1L);
        mask = cap - 1;
    }

    private static long key(int left, int right) {
        return ((long) left << 32) | (right & 0xFFFFFFFFL);
    }

    private int slot(long key) {
        long h = key * 0x9E3779B97F4A7C15L;
        return (int) (h ^ (h >>> 29)) & mask;
    }

    /** Adds the pair unless present (the first, lowest rank wins, as in llama.cpp). */
    boolean putIfAbsent(int left, int right, int rank, int merged) {
        long k = key(left, right);
        int i = slot(k);
        while (keys[i] != -1L) {
            if (keys[i] == k) {
                return false;
            }
            i = (i + 1) & mask;
        }
        if (size + 1 > keys.length / 2) {
            throw new IllegalStateException("merge table full");
        }
        keys[i] = k;
        values[i] = ((long) rank << 32) | (merged & 0xFFFFFFFFL);
        size++;
        return true;
    }

    /** rank << 32 | merged id, or -1 if the pair does not merge. */
    long get(int left, int right) {
        long k = key(left, right);
        int i = slot(k);
        long cur;
        while ((cur = keys[i]) != -1L) {
            if (cur == k) {
                return values[i];
            }
            i = (i + 1) & mask;
        }
        return -1L;
    }

    int size() {
        return size;
    }
}
