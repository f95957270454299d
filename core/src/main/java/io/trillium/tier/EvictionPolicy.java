package io.trillium.tier;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * How an {@link ExpertCache} chooses the unpinned slot to evict: the least recently used ({@link
 * ExpertCache.Policy#LRU}, the slot map's access order), or the least frequently used ({@link
 * ExpertCache.Policy#LFU}: demands counted per expert, halved now and then, LRU among equals).
 * <p>
 * Not thread-safe: the cache calls {@link #count} and {@link #victim} only while it holds its lock (its
 * slot map), which also guards the counts here.
 */
final class EvictionPolicy {
    private final ExpertCache.Policy policy;
    private final int[] frequency;   // per (layer, expert) key
    private long accesses;
    private final long decayEvery;

    /**
     * A policy over {@code keys} experts, the largest of {@code largestExpert} bytes, cached within
     * {@code budget} bytes.
     */
    EvictionPolicy(ExpertCache.Policy policy, int keys, long budget, long largestExpert) {
        this.policy = policy;
        this.frequency = new int[keys];
        // counts halve after about eight cache-fulls of demands: popularity, not ancient history
        this.decayEvery = Math.max(64, 8 * (largestExpert == 0 ? 1 : budget / largestExpert));
    }

    ExpertCache.Policy policy() {
        return policy;
    }

    /** Counts a demand for {@code key} (LFU only). Caller holds the cache's lock. */
    void count(long key) {
        if (policy != ExpertCache.Policy.LFU) {
            return;
        }
        frequency[(int) key]++;
        if (++accesses % decayEvery == 0) {
            for (int i = 0; i < frequency.length; i++) {
                frequency[i] >>>= 1;
            }
        }
    }

    /**
     * The key to evict among slots nobody uses: the eldest (LRU), or the least counted, eldest among
     * equals (LFU); -1 when every slot is in use. Caller holds the cache's lock ({@code slots}).
     */
    long victim(LinkedHashMap<Long, ExpertCache.Slot> slots) {
        long v = victim(slots, true);   // first spare the experts a layer has announced it is about to use
        return v >= 0 ? v : victim(slots, false);
    }

    private long victim(LinkedHashMap<Long, ExpertCache.Slot> slots, boolean spareAnnounced) {
        long best = -1;
        int min = Integer.MAX_VALUE;
        for (Map.Entry<Long, ExpertCache.Slot> e : slots.entrySet()) {   // eldest first
            ExpertCache.Slot slot = e.getValue();
            if (slot.users > 0 || spareAnnounced && (slot.announced || slot.ahead)) {
                continue;
            }
            long k = e.getKey();
            if (policy == ExpertCache.Policy.LRU) {
                return k;
            }
            if (frequency[(int) k] < min) {
                min = frequency[(int) k];
                best = k;
                if (min == 0) {
                    break;
                }
            }
        }
        return best;
    }
}
