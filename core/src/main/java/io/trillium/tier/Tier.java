package io.trillium.tier;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;

/**
 * A slow place where expert bytes live (PMem mapped in place, NVMe read directly). The expert cache
 * asks a tier for a byte range of a model file and copies it into a DRAM slot.
 */
public interface Tier extends AutoCloseable {
    /** Short name for statistics ("pmem", "nvme"). */
    String name();

    /**
     * Exactly the bytes {@code [offset, offset + length)} of {@code file}, readable until {@code arena}
     * closes (a tier that maps in place may return a longer-lived view).
     *
     * @throws TierIOException naming the file and offset when the bytes cannot all be read
     */
    MemorySegment read(Path file, long offset, long length, Arena arena);

    /**
     * Reads exactly {@code dst.byteSize()} bytes at {@code offset} of {@code file} into {@code dst}.
     *
     * @throws TierIOException naming the file and offset when the bytes cannot all be read
     */
    default void readInto(Path file, long offset, MemorySegment dst) {
        try (Arena arena = Arena.ofConfined()) {
            dst.copyFrom(read(file, offset, dst.byteSize(), arena));
        }
    }

    /**
     * Whether {@link #read} returns views the CPU can compute on in place for as long as the tier is
     * open (byte-addressable memory such as DAX-mapped PMem), so no DRAM copy is needed.
     */
    default boolean inPlace() {
        return false;
    }

    /** Releases files and mappings; reads after this fail. */
    @Override
    default void close() {
    }
}
