package io.trillium.gguf;

import java.nio.file.Path;

/**
 * A GGUF file is malformed or unsupported. The message names the file, the byte offset where
 * the problem was found and what was expected there.
 */
public class GgufFormatException extends RuntimeException {
    private final Path file;
    private final long offset;

    public GgufFormatException(Path file, long offset, String message) {
        super(file + " @" + offset + ": " + message);
        this.file = file;
        this.offset = offset;
    }

    public GgufFormatException(Path file, long offset, String message, Throwable cause) {
        super(file + " @" + offset + ": " + message, cause);
        this.file = file;
        this.offset = offset;
    }

    /** The file at fault. */
    public Path file() {
        return file;
    }

    /** The byte offset in {@link #file()} where the problem was found (-1 if it concerns the whole file). */
    public long offset() {
        return offset;
    }
}
