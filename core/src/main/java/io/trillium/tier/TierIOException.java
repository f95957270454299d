package io.trillium.tier;

import java.nio.file.Path;

/** A tier could not deliver an expert's bytes; no partial data was returned. */
public final class TierIOException extends RuntimeException {
    private final transient Path file;
    private final long offset;

    /** A failure at {@code offset} of {@code file}; {@code cause} may be null (a short read). */
    public TierIOException(Path file, long offset, String message, Throwable cause) {
        super(file + " at offset " + offset + ": " + message, cause);
        this.file = file;
        this.offset = offset;
    }

    /** The file that could not be read. */
    public Path file() {
        return file;
    }

    /** The offset of the requested bytes in {@link #file()}. */
    public long offset() {
        return offset;
    }
}
