package io.trillium.tier;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Budgeted off-heap DRAM for expert slots. Every byte it holds counts against the budget, whether a
 * slot uses it or it waits on a free list for the next slot of the same size: freed slots are reused
 * (no zeroing, no page faults), so the process's resident memory for slots never exceeds the budget.
 * The caller guarantees that nobody reads a slot after freeing it (the expert cache counts readers).
 */
public final class DramTier implements AutoCloseable {
    private final long budget;
    private long held;   // in use + on free lists
    private long free;   // on free lists
    private final Map<Long, ArrayDeque<Block>> freeBySize = new HashMap<>();
    private final Map<Long, Block> blocks = new HashMap<>();   // by address, every block held
    private final java.util.Set<Long> freeAddresses = new java.util.HashSet<>();
    private boolean closed;

    private record Block(Arena arena, MemorySegment memory) {
    }

    /** A budget of {@code budget} bytes. */
    public DramTier(long budget) {
        if (budget <= 0) {
            throw new IllegalArgumentException("DRAM budget must be positive: " + budget);
        }
        this.budget = budget;
    }

    /**
     * {@code bytes} of 4 KiB-aligned memory (contents undefined: a reused slot), or null when they do
     * not fit the budget even after releasing free blocks of other sizes.
     */
    public synchronized MemorySegment allocate(long bytes) {
        if (closed) {
            throw new IllegalStateException("DRAM tier is closed");
        }
        ArrayDeque<Block> same = freeBySize.get(bytes);
        if (same != null && !same.isEmpty()) {
            free -= bytes;
            Block b = same.pop();
            freeAddresses.remove(b.memory.address());
            return b.memory;
        }
        if (bytes > budget - held) {
            releaseFree(bytes - (budget - held));
        }
        if (bytes > budget - held) {
            return null;
        }
        Arena arena = Arena.ofShared();
        Block b = new Block(arena, arena.allocate(bytes, 4096));
        blocks.put(b.memory.address(), b);
        held += bytes;
        return b.memory;
    }

    /** Closes free blocks (of sizes nobody asked for) until {@code need} bytes are released or none is left. */
    private void releaseFree(long need) {
        List<Long> sizes = new ArrayList<>(freeBySize.keySet());
        for (long size : sizes) {
            ArrayDeque<Block> q = freeBySize.get(size);
            while (need > 0 && !q.isEmpty()) {
                Block b = q.pop();
                blocks.remove(b.memory.address());
                freeAddresses.remove(b.memory.address());
                b.arena.close();
                held -= size;
                free -= size;
                need -= size;
            }
        }
    }

    /** Takes {@code seg} (from {@link #allocate}) back for reuse; nobody may read it any more. */
    public synchronized void free(MemorySegment seg) {
        if (closed) {
            return;   // everything was released at close
        }
        Block b = blocks.get(seg.address());
        if (b == null || b.memory.byteSize() != seg.byteSize()) {
            throw new IllegalStateException("not a block of this DRAM tier: " + seg);
        }
        if (!freeAddresses.add(seg.address())) {
            throw new IllegalStateException("block freed twice: " + seg);
        }
        freeBySize.computeIfAbsent(seg.byteSize(), k -> new ArrayDeque<>()).push(b);
        free += seg.byteSize();
    }

    /** Bytes handed out and not given back. */
    public synchronized long used() {
        return held - free;
    }

    /** Bytes held in all: in use and kept for reuse (what the process has resident for slots). */
    public synchronized long held() {
        return held;
    }

    /** The most bytes ever held at once. */
    public long budget() {
        return budget;
    }

    /** Releases every block; slots must not be read after this. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        for (Block b : blocks.values()) {
            b.arena.close();
        }
        blocks.clear();
        freeBySize.clear();
        freeAddresses.clear();
        held = free = 0;
    }
}
