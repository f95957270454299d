package io.trillium.tokenizer;

import java.util.Arrays;

/** A growable int list (no boxing on the encode path). */
final class Ints {
    int[] a;
    int size;

    Ints(int capacity) {
        a = new int[Math.max(4, capacity)];
    }

    void add(int v) {
        if (size == a.length) {
            a = Arrays.copyOf(a, a.length * 2);
        }
        a[size++] = v;
    }

    void addAll(int[] v) {
        if (size + v.length > a.length) {
            a = Arrays.copyOf(a, Math.max(a.length * 2, size + v.length));
        }
        System.arraycopy(v, 0, a, size, v.length);
        size += v.length;
    }

    int get(int i) {
        return a[i];
    }

    void clear() {
        size = 0;
    }

    int[] toArray() {
        return Arrays.copyOf(a, size);
    }

    /** {@code id}, or empty for the "absent" marker -1 that vocabularies store. */
    static java.util.OptionalInt optionalId(int id) {
        return id < 0 ? java.util.OptionalInt.empty() : java.util.OptionalInt.of(id);
    }

    /** Throws unless {@code 0 <= id < vocabSize}. */
    static void checkId(int id, int vocabSize) {
        if (id < 0 || id >= vocabSize) {
            throw new IllegalArgumentException("token id " + id + " is outside the vocabulary (0.." + (vocabSize - 1) + ")");
        }
    }
}
