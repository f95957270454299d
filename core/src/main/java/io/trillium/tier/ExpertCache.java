package io.trillium.tier;

import io.trillium.gguf.GgufFile;
import io.trillium.moe.ExpertSource;
import io.trillium.moe.ExpertStats;
import io.trillium.moe.ExpertWeights;
import io.trillium.quant.Tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Experts in DRAM slots (gate, up and down of one (layer, expert) together), read from a slow
 * {@link Tier} and kept within the {@link DramTier} budget.
 *
 * <ul>
 * <li>A <b>pinned</b> hot set, chosen from measured popularity ({@link #pin}), is never evicted and is
 *     looked up without a lock ({@link PinnedExperts}).</li>
 * <li>The rest is evicted by a {@link Policy}: least recently used, or least frequently used (decayed
 *     counts, LRU among equals) ({@link EvictionPolicy}).</li>
 * <li>{@link #prefetch} starts reads on the cache's I/O threads (several in flight): the forward pass
 *     asks for all chosen experts of a layer at once, and for the experts it predicts for the next
 *     layer. A demand for an expert whose read is in flight waits for that read, never a second one.</li>
 * </ul>
 * Thread-safe. A read in flight holds its share of the budget; a failed read frees it and caches
 * nothing. Every {@link #expert} is matched by a {@link #release}: a slot with readers is never evicted,
 * and an evicted slot's memory is reused for the next read (so resident memory stays within the budget).
 */
public final class ExpertCache implements ExpertSource, AutoCloseable {
    /** How unpinned slots are chosen for eviction. */
    public enum Policy { LRU, LFU }

    /**
     * Counters since creation.
     *
     * @param hits        experts in DRAM when the router chose them (pinned, cached, or landed from a prediction)
     * @param inFlight    experts whose predicted read was still in flight when chosen (the demand waited for it)
     * @param misses      experts neither cached nor predicted: read after the router chose them (the reads of
     *                    one layer's misses are started together, before the first is needed)
     * @param bytesRead   bytes read from the slow tier (prefetches included)
     * @param prefetches  speculative reads started (experts predicted for a later layer)
     * @param prefetchesUsed speculative reads whose expert was demanded before eviction
     * @param readNanos   time spent in tier reads, summed over reads (they overlap)
     * @param stallNanos  time demands waited for reads (their own or in flight)
     */
    public record Stats(long hits, long inFlight, long misses, long bytesRead, String tier, long dramUsed,
                        long dramBudget, int pinned, long pinnedBytes, Policy policy, long prefetches,
                        long prefetchesUsed, long readNanos, long stallNanos) {
        /** Demands served from DRAM without waiting, over all demands (0 before the first). */
        public double hitRate() {
            long n = hits + inFlight + misses;
            return n == 0 ? 0 : (double) hits / n;
        }

        /** Share of the read time that no demand waited for: 1 − stall / read (0 when nothing was read). */
        public double hiddenReadFraction() {
            return readNanos == 0 ? 0 : Math.max(0, 1 - (double) stallNanos / readNanos);
        }

        /** The counters since {@code earlier} (of the same cache); DRAM use and the pinned set as now. */
        public Stats since(Stats earlier) {
            return new Stats(hits - earlier.hits, inFlight - earlier.inFlight, misses - earlier.misses,
                    bytesRead - earlier.bytesRead, tier, dramUsed, dramBudget, pinned, pinnedBytes, policy,
                    prefetches - earlier.prefetches, prefetchesUsed - earlier.prefetchesUsed,
                    readNanos - earlier.readNanos, stallNanos - earlier.stallNanos);
        }
    }

    private static final int DEFAULT_IO_THREADS = 8;

    private final ExpertLayout layout;
    private final int experts;
    private final Tier tier;
    private final DramTier dram;
    private final ExecutorService io;
    private final long[] expertBytes;   // per layer (0 for dense layers)

    /** A cached expert; package-private for {@link EvictionPolicy} and {@link PinnedExperts}, under the lock. */
    static final class Slot {
        final ExpertWeights weights;
        final MemorySegment memory;
        int users;             // demands not released yet: the slot is not evicted (its memory is reused)
        boolean speculative;   // read by a prediction and not demanded yet
        boolean ahead;         // read for a demand that was announced ahead and has not claimed it yet: a miss
        boolean announced;     // cached, and a demand for it was announced: evicted only as a last resort

        Slot(ExpertWeights weights, MemorySegment memory) {
            this.weights = weights;
            this.memory = memory;
        }
    }

    /** A read in flight: its result, and the demands waiting for it (they become the slot's users). */
    private static final class Load {
        final CompletableFuture<Slot> result = new CompletableFuture<>();
        int demands;
        boolean speculative;
        boolean ahead;   // started by prefetch(..., false) for a demand about to come: that demand is a miss
    }

    // guarded by slots (the cache's lock): cached slots in access order; reads in flight; the eviction counts
    private final LinkedHashMap<Long, Slot> slots = new LinkedHashMap<>(16, 0.75f, true);
    private final HashMap<Long, Load> loading = new HashMap<>();
    private final EvictionPolicy eviction;

    private final PinnedExperts pinned;   // looked up without a lock; its memory guarded by slots

    private boolean closed;            // guarded by slots

    private final AtomicLong hits = new AtomicLong();
    private final AtomicLong inFlight = new AtomicLong();
    private final AtomicLong misses = new AtomicLong();
    private final AtomicLong bytesRead = new AtomicLong();
    private final AtomicLong demandedBytes = new AtomicLong();
    private final AtomicLong prefetches = new AtomicLong();
    private final AtomicLong prefetchesUsed = new AtomicLong();
    private final AtomicLong readNanos = new AtomicLong();
    private final AtomicLong stallNanos = new AtomicLong();

    /**
     * Experts of the MoE layers ({@code isMoe[l]}) of {@code gguf}, read through {@code tier} (which
     * {@link #close()} closes) into slots within {@code dram}'s budget, LRU.
     */
    public ExpertCache(GgufFile gguf, boolean[] isMoe, int experts, Tier tier, DramTier dram) {
        this(ExpertLayout.gguf(gguf, isMoe, experts), tier, dram, Policy.LRU, DEFAULT_IO_THREADS);
    }

    /**
     * The experts {@code layout} locates, read through {@code tier} into slots within {@code dram}'s
     * budget, evicted by {@code policy}, with up to {@code ioThreads} reads in flight.
     */
    public ExpertCache(ExpertLayout layout, Tier tier, DramTier dram, Policy policy, int ioThreads) {
        if (ioThreads < 1) {
            throw new IllegalArgumentException("ioThreads must be >= 1: " + ioThreads);
        }
        this.layout = layout;
        this.experts = layout.experts();
        this.tier = tier;
        this.dram = dram;
        int keys = Math.multiplyExact(layout.layers(), experts);
        this.expertBytes = new long[layout.layers()];
        long perExpert = 0;
        for (int l = 0; l < layout.layers(); l++) {
            if (layout.isMoe(l)) {
                expertBytes[l] = layout.expertBytes(l);
                perExpert = Math.max(perExpert, expertBytes[l]);
            }
        }
        this.eviction = new EvictionPolicy(policy, keys, dram.budget(), perExpert);
        AtomicInteger n = new AtomicInteger();
        this.io = Executors.newFixedThreadPool(ioThreads, r -> {
            Thread t = new Thread(r, "trillium-io-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        this.pinned = new PinnedExperts(layout, expertBytes, dram, slots, eviction, io, this::read);
    }

    private long key(int layer, int expert) {
        if (layer < 0 || layer >= layout.layers() || !layout.isMoe(layer) || expert < 0 || expert >= experts) {
            throw new IndexOutOfBoundsException("no expert " + expert + " in layer " + layer);
        }
        return (long) layer * experts + expert;
    }

    @Override
    public ExpertWeights expert(int layer, int expert) {
        long key = key(layer, expert);
        demandedBytes.addAndGet(expertBytes[layer]);
        ExpertWeights p = pinned.get(key);
        if (p != null) {
            hits.incrementAndGet();
            return p;
        }
        Load pending;
        MemorySegment memory;
        pinned.started();
        long waitedFrom = 0;
        synchronized (slots) {
            ensureOpen();
            eviction.count(key);
            while (true) {   // re-checked after every wait: another thread may have read it meanwhile
                Slot slot = slots.get(key);
                if (slot != null) {
                    slot.announced = false;
                    if (slot.ahead) {
                        slot.ahead = false;
                        misses.incrementAndGet();
                    } else {
                        hits.incrementAndGet();
                    }
                    slot.users++;
                    if (slot.speculative) {
                        slot.speculative = false;
                        prefetchesUsed.incrementAndGet();
                    }
                    if (waitedFrom != 0) {
                        stallNanos.addAndGet(System.nanoTime() - waitedFrom);
                    }
                    return slot.weights;
                }
                pending = loading.get(key);
                if (pending != null) {
                    memory = null;   // another thread is reading it: wait for that read, not a second one
                    if (pending.ahead) {
                        pending.ahead = false;
                        misses.incrementAndGet();
                    } else {
                        inFlight.incrementAndGet();
                    }
                    if (pending.speculative) {
                        pending.speculative = false;
                        prefetchesUsed.incrementAndGet();
                    }
                    break;
                }
                memory = reserve(layer);
                if (memory != null) {
                    misses.incrementAndGet();
                    pending = new Load();
                    loading.put(key, pending);
                    break;
                }
                // every cached expert is in use or the budget is held by reads in flight: wait for one
                if (waitedFrom == 0) {
                    waitedFrom = System.nanoTime();
                }
                try {
                    slots.wait();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException("interrupted while waiting for DRAM budget", e);
                }
            }
            pending.demands++;   // the slot arrives with this demand as a user
        }
        if (waitedFrom != 0) {
            stallNanos.addAndGet(System.nanoTime() - waitedFrom);
        }
        long t0 = System.nanoTime();
        try {
            if (memory == null) {
                return await(pending.result).weights;
            }
            // the read runs outside the lock: hits and other misses go on meanwhile
            return load(key, memory, pending).weights;
        } finally {
            stallNanos.addAndGet(System.nanoTime() - t0);
        }
    }

    /** The caller is done with the expert it got from {@link #expert}: its slot may be evicted again. */
    @Override
    public void release(int layer, int expert) {
        long key = key(layer, expert);
        if (pinned.get(key) != null) {
            return;
        }
        synchronized (slots) {
            Slot slot = slots.get(key);
            if (slot == null || slot.users <= 0) {
                throw new IllegalStateException("expert " + expert + " of layer " + layer + " released but not held");
            }
            if (--slot.users == 0) {
                slots.notifyAll();   // a demand may be waiting for an evictable slot
            }
        }
    }

    /**
     * Checks that the unpinned budget holds {@code atOnce} experts of the largest layer (one token's
     * chosen experts are all held while it computes them); else a demand could wait forever.
     */
    public void requireSlots(int atOnce) {
        long largest = 0;
        for (long b : expertBytes) {
            largest = Math.max(largest, b);
        }
        long room;
        long pinnedBytes;
        synchronized (slots) {
            pinnedBytes = pinned.bytes();
            room = dram.budget() - pinnedBytes;
        }
        if (room < atOnce * largest) {
            throw new IllegalArgumentException("the DRAM budget of " + dram.budget() + " bytes"
                    + (pinnedBytes > 0 ? " (" + pinnedBytes + " pinned)" : "") + " holds fewer than the " + atOnce
                    + " experts of " + largest + " bytes one token uses at once; give at least "
                    + (atOnce * largest + pinnedBytes) + " bytes");
        }
    }

    private static Slot await(CompletableFuture<Slot> pending) {
        try {
            return pending.join();
        } catch (CompletionException e) {
            throw e.getCause() instanceof RuntimeException r ? r : e;
        }
    }

    /**
     * Starts reading an expert that is neither cached nor in flight, on the I/O threads; returns at once.
     * {@code speculative} marks a prediction (counted in {@link Stats#prefetches()}); a demand the caller
     * is about to make is not. Skipped when the budget is all held by reads in flight.
     */
    @Override
    public void prefetch(int layer, int expert, boolean speculative) {
        long key = key(layer, expert);
        if (pinned.get(key) != null) {
            return;
        }
        pinned.started();
        MemorySegment memory;
        Load pending;
        synchronized (slots) {
            ensureOpen();
            Slot cached = slots.get(key);   // (moves it to the young end of the LRU order)
            if (cached != null) {
                cached.announced |= !speculative;
                return;
            }
            if (loading.containsKey(key)) {
                return;
            }
            memory = reserve(layer);
            if (memory == null) {
                return;   // no room now: the demand will read it
            }
            pending = new Load();
            pending.speculative = speculative;
            pending.ahead = !speculative;
            loading.put(key, pending);
            if (speculative) {
                prefetches.incrementAndGet();
            }
        }
        try {
            io.execute(() -> {
                try {
                    load(key, memory, pending);
                } catch (RuntimeException | Error e) {
                    // the demand that waits on this read gets the error
                }
            });
        } catch (RejectedExecutionException e) {   // closed: give the budget back
            synchronized (slots) {
                loading.remove(key);
                dram.free(memory);
                slots.notifyAll();
            }
            pending.result.completeExceptionally(new IllegalStateException("expert cache is closed", e));
        }
    }

    @Override
    public boolean prefetches() {
        return true;
    }

    private volatile boolean predictions;

    /** Whether the forward pass should also prefetch the experts it predicts for the next layer. */
    public void predictions(boolean on) {
        this.predictions = on;
    }

    @Override
    public boolean wantsPredictions() {
        return predictions;
    }

    /** Reads one expert into {@code memory} and caches it; on failure frees the memory and rethrows. */
    private Slot load(long key, MemorySegment memory, Load pending) {
        int layer = (int) (key / experts);
        int expert = (int) (key % experts);
        Slot slot;
        try {
            slot = new Slot(read(layer, expert, memory), memory);
        } catch (RuntimeException | Error e) {
            try {
                synchronized (slots) {
                    try {
                        loading.remove(key);
                        dram.free(memory);   // nothing half-read stays cached or counted
                    } finally {
                        slots.notifyAll();
                    }
                }
            } finally {
                pending.result.completeExceptionally(e);
            }
            throw e;
        }
        synchronized (slots) {
            loading.remove(key);
            slot.users = pending.demands;           // every demand that joined holds it until released
            slot.speculative = pending.speculative; // still unclaimed by a demand
            slot.ahead = pending.ahead;
            slots.put(key, slot);
            slots.notifyAll();
        }
        pending.result.complete(slot);
        return slot;
    }

    /**
     * Budget for one expert of {@code layer}, evicting by the policy until it fits; null when the rest
     * of the budget is in use or held by reads in flight. Caller holds the lock.
     */
    private MemorySegment reserve(int layer) {
        long need = expertBytes[layer];
        long pinnedBytes = pinned.bytes();
        if (need > dram.budget() - pinnedBytes) {
            throw new IllegalStateException("one expert (" + need + " bytes) exceeds the DRAM budget of "
                    + dram.budget() + " bytes" + (pinnedBytes > 0 ? " less " + pinnedBytes + " pinned" : ""));
        }
        MemorySegment memory;
        while ((memory = dram.allocate(need)) == null) {
            long victim = eviction.victim(slots);
            if (victim < 0) {
                return null;
            }
            dram.free(slots.remove(victim).memory);
        }
        return memory;
    }

    /**
     * Reads the three matrices of one expert into {@code memory}; parts that follow each other in one
     * file (a repacked expert) are one read. Throws rather than return part of an expert.
     */
    private ExpertWeights read(int layer, int expert, MemorySegment memory) {
        ExpertLayout.Part[] p = layout.parts(layer, expert);
        long t0 = System.nanoTime();
        try {
            Tensor[] t = new Tensor[3];
            long at = 0;
            for (int k = 0; k < 3; ) {
                int run = k + 1;   // parts k..run-1 are adjacent in one file (and have no separate scales)
                long len = p[k].bytes();
                while (run < 3 && p[k].scaleBytes() == 0 && p[run].scaleBytes() == 0
                        && p[run].file().equals(p[k].file()) && p[run].offset() == p[k].offset() + len) {
                    len += p[run].bytes();
                    run++;
                }
                tier.readInto(p[k].file(), p[k].offset(), memory.asSlice(at, len));
                bytesRead.addAndGet(len);
                for (; k < run; k++) {
                    MemorySegment dst = memory.asSlice(at, p[k].bytes());
                    at += p[k].bytes();
                    MemorySegment scales = null;
                    if (p[k].scaleBytes() > 0) {
                        scales = memory.asSlice(at, p[k].scaleBytes());
                        tier.readInto(p[k].scaleFile(), p[k].scaleOffset(), scales);
                        bytesRead.addAndGet(p[k].scaleBytes());
                        at += p[k].scaleBytes();
                    }
                    t[k] = new Tensor(p[k].name(), p[k].type(), new long[] {p[k].cols(), p[k].rows()}, dst, scales);
                }
            }
            return new ExpertWeights(t[0], t[1], t[2]);
        } finally {
            readNanos.addAndGet(System.nanoTime() - t0);
        }
    }

    /**
     * Pins the most often chosen experts of {@code stats} (across all layers, most frequent first) into
     * up to {@code bytes} of the budget, reading them now; they are never evicted. Returns how many
     * were pinned. Call before serving; may be called once.
     */
    public int pin(ExpertStats stats, long bytes) {
        return pinned.pin(stats, bytes);
    }

    /** The counters now, and the DRAM in use. */
    public Stats stats() {
        int pinnedCount;
        long pb;
        synchronized (slots) {
            pinnedCount = pinned.count();
            pb = pinned.bytes();
        }
        return new Stats(hits.get(), inFlight.get(), misses.get(), bytesRead.get(), tier.name(), dram.used(),
                dram.budget(), pinnedCount, pb, eviction.policy(), prefetches.get(), prefetchesUsed.get(),
                readNanos.get(), stallNanos.get());
    }

    /** Routed-expert bytes computed on from DRAM slots ("dram") and bytes read from the slow tier. */
    @Override
    public Map<String, Long> bytesRead() {
        return Map.of("dram", demandedBytes.get(), tier.name(), bytesRead.get());
    }

    /** Waits until no read is in flight (prefetches landed or failed). */
    public void awaitReads() throws InterruptedException {
        synchronized (slots) {
            while (!loading.isEmpty()) {
                slots.wait();
            }
        }
    }

    /** Slots currently cached, pinned ones included. */
    public int size() {
        synchronized (slots) {
            return slots.size() + pinned.count();
        }
    }

    /** Stops the I/O threads (reads in flight finish) and closes the tier; slots handed out stay readable. */
    @Override
    public void close() {
        boolean idle;
        synchronized (slots) {
            if (closed) {
                return;
            }
            closed = true;
        }
        io.shutdown();
        try {
            io.awaitTermination(10, java.util.concurrent.TimeUnit.SECONDS);
            idle = awaitIdle(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            idle = false;
        }
        try {
            tier.close();
        } finally {
            synchronized (slots) {
                IllegalStateException gone = new IllegalStateException("expert cache is closed");
                for (Load l : loading.values()) {
                    l.result.completeExceptionally(gone);
                }
                slots.notifyAll();
            }
            if (idle) {
                dram.close();   // else a reader still holds a slot: leaking it beats freeing memory in use
            } else {
                System.getLogger(ExpertCache.class.getName()).log(System.Logger.Level.WARNING,
                        "expert cache closed while experts were still in use; their DRAM is left to the process");
            }
        }
    }

    /** Waits up to {@code millis} until no read is in flight and no slot is held; true if so. */
    private boolean awaitIdle(long millis) throws InterruptedException {
        long end = System.nanoTime() + millis * 1_000_000;
        synchronized (slots) {
            while (!loading.isEmpty() || slots.values().stream().anyMatch(sl -> sl.users > 0)) {
                long left = (end - System.nanoTime()) / 1_000_000;
                if (left <= 0) {
                    return false;
                }
                slots.wait(left);
            }
            return true;
        }
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("expert cache is closed");
        }
    }
}
