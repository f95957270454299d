package io.trillium.tokenizer;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/**
 * Turns generated ids into printable text one token at a time. A token may end in the middle of a
 * UTF-8 sequence (an emoji is often two or three byte tokens); those bytes are held back until the
 * sequence is complete, so nothing half-decoded is ever printed. Not thread-safe: one per stream.
 */
public final class StreamingDecoder {
    private final Tokenizer tokenizer;
    private final ByteArrayOutputStream pending = new ByteArrayOutputStream();

    public StreamingDecoder(Tokenizer tokenizer) {
        this.tokenizer = tokenizer;
    }

    /** Adds a token; returns the text now complete (possibly empty). */
    public String accept(int id) {
        pending.writeBytes(tokenizer.tokenBytes(id));
        byte[] b = pending.toByteArray();
        int keep = incompleteTail(b);
        pending.reset();
        pending.write(b, b.length - keep, keep);
        return new String(b, 0, b.length - keep, StandardCharsets.UTF_8);
    }

    /** Ends the stream: the held-back bytes, an incomplete sequence as U+FFFD. */
    public String flush() {
        String s = pending.toString(StandardCharsets.UTF_8);
        pending.reset();
        return s;
    }

    /** Whether bytes are held back. */
    public boolean hasPending() {
        return pending.size() > 0;
    }

    /** Number of bytes at the end of b that start a UTF-8 sequence but do not finish it. */
    static int incompleteTail(byte[] b) {
        int n = b.length;
        for (int back = 1; back <= Math.min(3, n); back++) {
            int c = b[n - back] & 0xFF;
            if ((c & 0xC0) == 0x80) {
                continue; // continuation byte: look further back for the lead
            }
            int len = c >= 0xF0 && c <= 0xF4 ? 4 : c >= 0xE0 ? (c < 0xF0 ? 3 : 1) : c >= 0xC2 ? 2 : 1;
            return len > back ? back : 0;
        }
        return 0;
    }
}
