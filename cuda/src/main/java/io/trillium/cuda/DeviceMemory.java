package io.trillium.cuda;

import java.util.IdentityHashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * The VRAM budget: every device allocation goes through here, tagged ("weights", "activations" ...),
 * so that the backend never takes more than it was given and can say where the memory went.
 * Thread-safe.
 */
public final class DeviceMemory<H> implements AutoCloseable {

    /** One live allocation. */
    public record Block<H>(H handle, long bytes, String tag) {
    }

    private final DeviceAllocator<H> allocator;
    private final long budget;
    private final Map<Block<H>, Boolean> live = new IdentityHashMap<>();
    private final Map<String, Long> byTag = new TreeMap<>();
    private long used;
    private long peak;
    private boolean closed;

    public DeviceMemory(DeviceAllocator<H> allocator, long budget) {
        if (budget <= 0) {
            throw new IllegalArgumentException("VRAM budget must be > 0, got " + budget);
        }
        this.allocator = allocator;
        this.budget = budget;
    }

    /** Whether {@code bytes} more would fit in the budget now. */
    public synchronized boolean fits(long bytes) {
        return bytes >= 0 && used + bytes <= budget;
    }

    /**
     * {@code bytes} of device memory under {@code tag}.
     *
     * @throws VramExhaustedException when the budget would be exceeded (nothing is allocated then)
     */
    public synchronized Block<H> allocate(String tag, long bytes) {
        if (closed) {
            throw new IllegalStateException("device memory is closed");
        }
        if (bytes <= 0) {
            throw new IllegalArgumentException("allocation of " + bytes + " bytes for " + tag);
        }
        if (used + bytes > budget) {
            throw new VramExhaustedException("VRAM budget exhausted: " + tag + " needs " + bytes + " bytes, "
                    + (budget - used) + " of " + budget + " left (in use: " + byTag + ")");
        }
        H h = allocator.allocate(bytes);
        Block<H> b = new Block<>(h, bytes, tag);
        live.put(b, Boolean.TRUE);
        used += bytes;
        peak = Math.max(peak, used);
        byTag.merge(tag, bytes, Long::sum);
        return b;
    }

    /** Frees {@code b}, which must be live. */
    public synchronized void free(Block<H> b) {
        if (live.remove(b) == null) {
            throw new IllegalArgumentException("not a live allocation of this device memory: " + b);
        }
        allocator.free(b.handle());
        used -= b.bytes();
        byTag.computeIfPresent(b.tag(), (k, v) -> v == b.bytes() ? null : v - b.bytes());
    }

    public long budget() {
        return budget;
    }

    public synchronized long used() {
        return used;
    }

    public synchronized long peak() {
        return peak;
    }

    /** Bytes in use per tag. */
    public synchronized Map<String, Long> usedByTag() {
        return Map.copyOf(byTag);
    }

    /** Frees everything still live. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        for (Block<H> b : new java.util.ArrayList<>(live.keySet())) {
            free(b);
        }
        closed = true;
    }

    /** The budget is spent; the caller computes elsewhere (the host) instead. */
    public static final class VramExhaustedException extends RuntimeException {
        public VramExhaustedException(String message) {
            super(message);
        }
    }
}
