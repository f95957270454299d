package io.trillium.server;

import io.trillium.api.Model;
import io.trillium.api.Session;

import java.util.ArrayDeque;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;

/**
 * Who generates now: at most {@code maxSessions} requests hold a session at once, up to {@code queue}
 * more wait in arrival order (a fair semaphore), and the next is refused (429). Sessions are kept and
 * reused, most recently released first, so a conversation that comes back soon often finds its
 * prompt's prefix still cached.
 */
final class Admission implements AutoCloseable {
    private final Model model;
    private final int contextLength;
    private final int queue;
    private final Semaphore slots;
    private final AtomicInteger waiting = new AtomicInteger();
    private final AtomicInteger active = new AtomicInteger();
    private final ArrayDeque<Session> idle = new ArrayDeque<>();   // guarded by itself

    Admission(Model model, int maxSessions, int queue, int contextLength) {
        this.model = model;
        this.queue = queue;
        this.contextLength = contextLength;
        this.slots = new Semaphore(maxSessions, true);
    }

    /**
     * A session for one request; {@link #release} it when done.
     *
     * @param gone whether the client went away while waiting (checked every 50 ms)
     * @throws ApiError 429 when the queue is full; 499-like cancellation as {@code null} when gone
     */
    Session acquire(BooleanSupplier gone) throws InterruptedException {
        if (!slots.tryAcquire()) {
            if (waiting.incrementAndGet() > queue) {
                waiting.decrementAndGet();
                ApiError e = new ApiError(429, "rate_limit_exceeded", null, "queue_full",
                        "the server is busy: all sessions are generating and the queue of " + queue + " is full; retry later");
                throw e;
            }
            try {
                while (!slots.tryAcquire(50, TimeUnit.MILLISECONDS)) {
                    if (gone.getAsBoolean()) {
                        return null;
                    }
                }
            } finally {
                waiting.decrementAndGet();
            }
        }
        active.incrementAndGet();
        synchronized (idle) {
            Session s = idle.pollFirst();
            if (s != null) {
                return s;
            }
        }
        try {
            return contextLength > 0 ? model.newSession(contextLength) : model.newSession();
        } catch (RuntimeException | Error e) {
            active.decrementAndGet();
            slots.release();
            throw e;
        }
    }

    void release(Session s) {
        synchronized (idle) {
            idle.addFirst(s);
        }
        active.decrementAndGet();
        slots.release();
    }

    int active() {
        return active.get();
    }

    int waiting() {
        return waiting.get();
    }

    @Override
    public void close() {
        synchronized (idle) {
            idle.forEach(Session::close);
            idle.clear();
        }
    }
}
