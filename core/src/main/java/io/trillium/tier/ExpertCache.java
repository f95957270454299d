package io.trillium.tier;

import io.trillium.gguf.GgufFile;
import io.trillium.moe.ExpertSource;
import io.trillium.moe.ExpertWeights;
import io.trillium.quant.Tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Experts in DRAM slots (gate, up and down of one (layer, expert) together), read on a miss from a
 * slow {@link Tier} and evicted least-recently-used to stay within the {@link DramTier} budget.
 * Thread-safe; a miss reads outside the lock (a second reader of the same expert waits for that read
 * rather than starting another), and a read in flight holds its share of the budget. Evicting a slot
 * only drops it from the budget: its memory stays valid while any reader still holds its views (see
 * {@link DramTier}).
 */
public final class ExpertCache implements ExpertSource, AutoCloseable {
    /** Counters since creation. */
    public record Stats(long hits, long misses, long bytesRead, String tier, long dramUsed, long dramBudget) {
        /** Hits over all lookups (0 before the first). */
        public double hitRate() {
            long n = hits + misses;
            return n == 0 ? 0 : (double) hits / n;
        }
    }

    private final ExpertLayout layout;
    private final int experts;
    private final Tier tier;
    private final DramTier dram;
    private record Slot(ExpertWeights weights, MemorySegment memory) {
    }

    private final LinkedHashMap<Long, Slot> slots = new LinkedHashMap<>(16, 0.75f, true);
    private final HashMap<Long, CompletableFuture<Slot>> loading = new HashMap<>();   // guarded by slots
    private final AtomicLong hits = new AtomicLong();
    private final AtomicLong misses = new AtomicLong();
    private final AtomicLong bytesRead = new AtomicLong();

    /**
     * Experts of the MoE layers ({@code isMoe[l]}) of {@code gguf}, read through {@code tier} (which
     * {@link #close()} closes) into slots within {@code dram}'s budget.
     */
    public ExpertCache(GgufFile gguf, boolean[] isMoe, int experts, Tier tier, DramTier dram) {
        this(ExpertLayout.gguf(gguf, isMoe, experts), tier, dram);
    }

    /** The experts {@code layout} locates, read through {@code tier} into slots within {@code dram}'s budget. */
    public ExpertCache(ExpertLayout layout, Tier tier, DramTier dram) {
        this.layout = layout;
        this.experts = layout.experts();
        this.tier = tier;
        this.dram = dram;
    }

    @Override
    public ExpertWeights expert(int layer, int expert) {
        if (layer < 0 || layer >= layout.layers() || !layout.isMoe(layer) || expert < 0 || expert >= experts) {
            throw new IndexOutOfBoundsException("no expert " + expert + " in layer " + layer);
        }
        long key = (long) layer * experts + expert;
        CompletableFuture<Slot> pending;
        MemorySegment memory;
        synchronized (slots) {
            Slot slot = slots.get(key);
            if (slot != null) {
                hits.incrementAndGet();
                return slot.weights;
            }
            pending = loading.get(key);
            if (pending == null) {
                misses.incrementAndGet();
                memory = reserve(layer);
                pending = new CompletableFuture<>();
                loading.put(key, pending);
            } else {
                memory = null;   // another thread is reading it: wait for that read, not a second one
                hits.incrementAndGet();
            }
        }
        if (memory == null) {
            try {
                return pending.join().weights;
            } catch (CompletionException e) {
                throw e.getCause() instanceof RuntimeException r ? r : e;
            }
        }
        // the read runs outside the lock: hits and other misses go on meanwhile
        Slot slot;
        try {
            slot = read(layer, expert, memory);
        } catch (RuntimeException | Error e) {
            synchronized (slots) {
                loading.remove(key);
                dram.free(memory);   // nothing half-read stays cached or counted
                slots.notifyAll();
            }
            pending.completeExceptionally(e);
            throw e;
        }
        synchronized (slots) {
            loading.remove(key);
            slots.put(key, slot);
            slots.notifyAll();
        }
        pending.complete(slot);
        return slot.weights;
    }

    /**
     * Budget for one expert of {@code layer}, evicting LRU slots until it fits; waits while the rest of
     * the budget is held by reads in flight. Caller holds the lock.
     */
    private MemorySegment reserve(int layer) {
        long need = layout.expertBytes(layer);
        if (need > dram.budget()) {
            throw new IllegalStateException("one expert (" + need + " bytes) exceeds the DRAM budget of "
                    + dram.budget() + " bytes");
        }
        MemorySegment memory;
        while ((memory = dram.allocate(need)) == null) {
            if (slots.isEmpty()) {
                try {
                    slots.wait();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException("interrupted while waiting for DRAM budget", e);
                }
                continue;
            }
            var eldest = slots.entrySet().iterator();
            Slot victim = eldest.next().getValue();
            eldest.remove();
            dram.free(victim.memory);
        }
        return memory;
    }

    /**
     * Reads the three matrices of one expert into {@code memory}; parts that follow each other in one
     * file (a repacked expert) are one read. Throws rather than return part of an expert.
     */
    private Slot read(int layer, int expert, MemorySegment memory) {
        ExpertLayout.Part[] p = layout.parts(layer, expert);
        try (Arena io = Arena.ofConfined()) {
            Tensor[] t = new Tensor[3];
            long at = 0;
            for (int k = 0; k < 3; ) {
                int run = k + 1;   // parts k..run-1 are adjacent in one file
                long len = p[k].bytes();
                while (run < 3 && p[run].file().equals(p[k].file()) && p[run].offset() == p[k].offset() + len) {
                    len += p[run].bytes();
                    run++;
                }
                MemorySegment src = tier.read(p[k].file(), p[k].offset(), len, io);
                memory.asSlice(at, len).copyFrom(src);
                bytesRead.addAndGet(len);
                for (; k < run; k++) {
                    MemorySegment dst = memory.asSlice(at, p[k].bytes());
                    t[k] = new Tensor(p[k].name(), p[k].type(), new long[] {p[k].cols(), p[k].rows()}, dst);
                    at += p[k].bytes();
                }
            }
            return new Slot(new ExpertWeights(t[0], t[1], t[2]), memory);
        }
    }

    /** The counters now, and the DRAM in use. */
    public Stats stats() {
        return new Stats(hits.get(), misses.get(), bytesRead.get(), tier.name(), dram.used(), dram.budget());
    }

    /** Slots currently cached. */
    public int size() {
        synchronized (slots) {
            return slots.size();
        }
    }

    /** Closes the tier; slots already handed out stay readable. */
    @Override
    public void close() {
        tier.close();
    }
}
