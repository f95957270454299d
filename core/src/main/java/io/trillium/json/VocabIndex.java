package io.trillium.json;

import io.trillium.tokenizer.TokenType;
import io.trillium.tokenizer.Tokenizer;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A vocabulary's token byte strings in unsigned lexicographic order, with the length each shares
 * with the one before: walking them in this order, the automaton's state after a shared prefix is
 * computed once for all tokens that start with it, and a rejected prefix skips every token below it.
 * Control, unknown and unused tokens are left out (a document never contains them). Immutable;
 * build once per tokenizer.
 */
public final class VocabIndex {
    final int vocabSize;
    final int[] ids;       // token ids in byte order
    final byte[][] bytes;  // their bytes
    final int[] shared;    // bytes token i shares with token i - 1 (0 for the first)
    final int maxLength;
    private final int[] indexOfId;   // the inverse of ids (-1: not indexed)

    private VocabIndex(int vocabSize, int[] ids, byte[][] bytes, int[] shared, int maxLength) {
        this.indexOfId = new int[vocabSize];
        Arrays.fill(indexOfId, -1);
        for (int i = 0; i < ids.length; i++) {
            indexOfId[ids[i]] = i;
        }
        this.vocabSize = vocabSize;
        this.ids = ids;
        this.bytes = bytes;
        this.shared = shared;
        this.maxLength = maxLength;
    }

    /** Indexes the tokens of {@code tokenizer} that stand for bytes of text. */
    public static VocabIndex of(Tokenizer tokenizer) {
        int v = tokenizer.vocabSize();
        record Entry(int id, byte[] bytes) {
        }
        List<Entry> entries = new ArrayList<>(v);
        for (int id = 0; id < v; id++) {
            TokenType t = tokenizer.tokenType(id);
            if (t == TokenType.CONTROL || t == TokenType.UNKNOWN || t == TokenType.UNUSED) {
                continue;
            }
            byte[] b = tokenizer.tokenBytes(id);
            if (b.length > 0) {
                entries.add(new Entry(id, b));
            }
        }
        entries.sort((a, b) -> {
            int c = Arrays.compareUnsigned(a.bytes, b.bytes);
            return c != 0 ? c : Integer.compare(a.id, b.id);
        });
        int n = entries.size();
        int[] ids = new int[n];
        byte[][] bytes = new byte[n][];
        int[] shared = new int[n];
        int max = 0;
        for (int i = 0; i < n; i++) {
            ids[i] = entries.get(i).id;
            bytes[i] = entries.get(i).bytes;
            max = Math.max(max, bytes[i].length);
            if (i > 0) {
                int m = Arrays.mismatch(bytes[i - 1], bytes[i]);
                shared[i] = m < 0 ? bytes[i].length : m;
            }
        }
        return new VocabIndex(v, ids, bytes, shared, max);
    }

    /** The bytes of token {@code id}, or null when it is not indexed (a control or unused token, or no id). */
    byte[] bytesOf(int id) {
        int i = id >= 0 && id < vocabSize ? indexOfId[id] : -1;
        return i < 0 ? null : bytes[i];
    }

    /** Number of token ids of the vocabulary (indexed or not). */
    public int vocabSize() {
        return vocabSize;
    }

    /** Number of tokens indexed. */
    public int size() {
        return ids.length;
    }
}
