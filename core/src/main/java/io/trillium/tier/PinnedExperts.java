package io.trillium.tier;

import io.trillium.moe.ExpertStats;
import io.trillium.moe.ExpertWeights;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;

/**
 * The pinned hot set of an {@link ExpertCache}: the experts measured most popular, read once before
 * serving into their own share of the DRAM budget and never evicted.
 * <p>
 * The weights are written once by {@link #pin} and then looked up without a lock ({@link #get}). The
 * pinned memory and its byte count are guarded by the cache's lock, its slot map {@code slots}:
 * {@link #pin} takes it itself, step by step (to evict cached experts for room, and to record the
 * pinned memory), and reads outside it; callers of {@link #bytes()} and {@link #count()} hold it.
 */
final class PinnedExperts {
    /** Reads the three matrices of one expert into {@code memory}; throws rather than return part of one. */
    @FunctionalInterface
    interface Reader {
        ExpertWeights read(int layer, int expert, MemorySegment memory);
    }

    private final ExpertLayout layout;
    private final int experts;
    private final long[] expertBytes;   // per layer (0 for dense layers)
    private final DramTier dram;
    private final LinkedHashMap<Long, ExpertCache.Slot> slots;   // the cache's slots: its lock
    private final EvictionPolicy eviction;   // guarded by slots
    private final Executor io;
    private final Reader reader;

    // written once in pin(), then read without a lock
    private volatile ExpertWeights[] pinned;
    private final List<MemorySegment> pinnedMemory = new ArrayList<>();   // guarded by slots
    private long pinnedBytes;                                             // guarded by slots

    private volatile boolean started;   // a demand or prefetch came: too late to pin

    /**
     * The (empty) hot set of the cache whose experts {@code layout} locates, {@code expertBytes} per
     * layer: pinned within {@code dram}, making room by evicting from the cache's {@code slots} by
     * {@code eviction}, read by {@code reader} on {@code io}.
     */
    PinnedExperts(ExpertLayout layout, long[] expertBytes, DramTier dram, LinkedHashMap<Long, ExpertCache.Slot> slots,
                  EvictionPolicy eviction, Executor io, Reader reader) {
        this.layout = layout;
        this.experts = layout.experts();
        this.expertBytes = expertBytes;
        this.dram = dram;
        this.slots = slots;
        this.eviction = eviction;
        this.io = io;
        this.reader = reader;
        this.pinned = new ExpertWeights[Math.multiplyExact(layout.layers(), experts)];
    }

    /** The pinned expert of {@code key}, or null; without a lock. */
    ExpertWeights get(long key) {
        return pinned[(int) key];
    }

    /** A demand or prefetch came: from now on {@link #pin} refuses. */
    void started() {
        started = true;
    }

    /** Bytes of the budget pinned. Caller holds the cache's lock. */
    long bytes() {
        return pinnedBytes;
    }

    /** Experts pinned. Caller holds the cache's lock. */
    int count() {
        return pinnedMemory.size();
    }

    /** {@link ExpertCache#pin}: takes the cache's lock itself. */
    int pin(ExpertStats stats, long bytes) {
        if (stats.layers() != layout.layers() || stats.experts() != experts) {
            throw new IllegalArgumentException("expert statistics are for " + stats.layers() + " layers x "
                    + stats.experts() + " experts; this model has " + layout.layers() + " x " + experts);
        }
        if (bytes < 0 || bytes >= dram.budget()) {
            throw new IllegalArgumentException("pinned bytes must be in [0, DRAM budget " + dram.budget()
                    + "), got " + bytes + ": the rest of the budget is needed for the other experts");
        }
        synchronized (slots) {
            if (pinnedBytes > 0) {
                throw new IllegalStateException("the hot set is already pinned");
            }
        }
        if (started) {
            throw new IllegalStateException("pin the hot set before the first expert is asked for");
        }
        List<long[]> ranked = new ArrayList<>();   // {key, count scaled by tokens}
        for (int l = 0; l < layout.layers(); l++) {
            if (!layout.isMoe(l) || stats.tokens(l) == 0) {
                continue;
            }
            for (int e = 0; e < experts; e++) {
                if (stats.count(l, e) > 0) {
                    ranked.add(new long[] {(long) l * experts + e, Double.doubleToLongBits(stats.frequency(l, e))});
                }
            }
        }
        ranked.sort((a, b) -> {
            int c = Double.compare(Double.longBitsToDouble(b[1]), Double.longBitsToDouble(a[1]));
            return c != 0 ? c : Long.compare(a[0], b[0]);
        });
        ExpertWeights[] next = pinned.clone();
        long used = 0;
        int n = 0;
        List<CompletableFuture<ExpertWeights>> reads = new ArrayList<>();
        List<Long> keys = new ArrayList<>();
        for (long[] r : ranked) {
            int layer = (int) (r[0] / experts);
            long need = expertBytes[layer];
            if (used + need > bytes) {
                continue;   // a smaller expert of another layer may still fit
            }
            MemorySegment reserved;
            synchronized (slots) {
                ExpertCache.Slot cached = slots.get(r[0]);
                if (cached != null && cached.users == 0) {
                    dram.free(slots.remove(r[0]).memory);
                } else if (cached != null) {
                    continue;   // in use right now: left to the cache
                }
                reserved = dram.allocate(need);
                long victim;
                while (reserved == null && (victim = eviction.victim(slots)) >= 0) {
                    dram.free(slots.remove(victim).memory);
                    reserved = dram.allocate(need);
                }
            }
            MemorySegment memory = reserved;
            if (memory == null) {
                break;   // the rest is held by reads in flight: pin what fits
            }
            used += need;
            n++;
            synchronized (slots) {
                pinnedMemory.add(memory);
            }
            int expert = (int) (r[0] % experts);
            keys.add(r[0]);
            reads.add(CompletableFuture.supplyAsync(() -> reader.read(layer, expert, memory), io));
        }
        // every read finishes before any block could be given back (no read may land in a reused block)
        CompletableFuture.allOf(reads.toArray(CompletableFuture[]::new)).handle((r, t) -> null).join();
        for (int i = 0; i < reads.size(); i++) {
            try {
                next[keys.get(i).intValue()] = reads.get(i).join();
            } catch (CompletionException e) {
                synchronized (slots) {   // give every pinned slot back: no half-pinned state
                    for (MemorySegment m : pinnedMemory) {
                        dram.free(m);
                    }
                    pinnedMemory.clear();
                }
                throw e.getCause() instanceof RuntimeException r ? r : e;
            }
        }
        synchronized (slots) {
            pinnedBytes = used;
        }
        pinned = next;
        return n;
    }
}
