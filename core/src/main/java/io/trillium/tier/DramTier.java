package io.trillium.tier;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * Budgeted off-heap DRAM: every byte handed out is counted until it is given back. Segments come from
 * automatic arenas, so a slot dropped from the accounting stays valid for a reader that still holds a
 * view of it (the GC frees it after the last reader), and eviction never pulls memory from under one.
 */
public final class DramTier {
    private final long budget;
    private long used;

    /** A budget of {@code budget} bytes. */
    public DramTier(long budget) {
        if (budget <= 0) {
            throw new IllegalArgumentException("DRAM budget must be positive: " + budget);
        }
        this.budget = budget;
    }

    /** {@code bytes} of 4 KiB-aligned memory, or null when they do not fit the remaining budget. */
    public synchronized MemorySegment allocate(long bytes) {
        if (bytes > budget - used) {
            return null;
        }
        MemorySegment seg = Arena.ofAuto().allocate(bytes, 4096);
        used += bytes;
        return seg;
    }

    /** Gives {@code seg}'s bytes back to the budget (its memory lives on while referenced). */
    public synchronized void free(MemorySegment seg) {
        used -= seg.byteSize();
        if (used < 0) {
            throw new IllegalStateException("DRAM accounting went negative: " + used);
        }
    }

    /** Bytes handed out and not given back. */
    public synchronized long used() {
        return used;
    }

    /** The most bytes ever handed out at once. */
    public long budget() {
        return budget;
    }
}
