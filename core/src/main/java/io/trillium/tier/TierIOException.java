package io.trillium.tier;

import java.nio.file.Path;

/** A tier could not deliver an expert's bytes; no partial data was returned. */
public final class TierIOException extends RuntimeException {
    private final transient Path file;
    private final long offset;

    public TierIOException(Path file, long offset, String message, Throwable cause) {
        super(file + " at offset " + offset + ": " + message, cause);
        this.file = file;
        this.offset = offset;
    }

    public Path file() {
        return file;
    }

    public long offset() {
        return offset;
    }
}
