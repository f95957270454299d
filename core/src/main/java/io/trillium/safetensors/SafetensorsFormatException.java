package io.trillium.safetensors;

import java.nio.file.Path;

/**
 * A safetensors file (or a checkpoint's index) is malformed or unsupported. The message names the
 * file, the byte offset where the problem was found (-1: the whole file) and what was expected.
 */
public class SafetensorsFormatException extends RuntimeException {
    private final Path file;
    private final long offset;

    public SafetensorsFormatException(Path file, long offset, String message) {
        this(file, offset, message, null);
    }

    public SafetensorsFormatException(Path file, long offset, String message, Throwable cause) {
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
