package io.trillium.server;

import io.trillium.api.CancellationToken;
import io.trillium.api.Model;
import io.trillium.api.Session;

import java.util.ArrayDeque;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.BooleanSupplier;

/**
 * Who generates now: at most {@code maxSessions} requests hold a session at once, up to {@code queue}
 * more wait in arrival order, and the next is refused (429). A freed slot goes to the longest waiter
 * (an explicit FIFO: a waiter that checks on its client now and then keeps its place). Sessions are
 * kept and reused, most recently released first, so a conversation that comes back soon often finds
 * its prompt's prefix still cached. {@link #close()} cancels the running generations; their sessions
 * are closed when they are released.
 */
final class Admission implements AutoCloseable {
    private final Model model;
    private final int contextLength;
    private final int maxSessions;
    private final int queue;
    private final ReentrantLock lock = new ReentrantLock();
    private final ArrayDeque<Waiter> waiters = new ArrayDeque<>();   // guarded by lock
    private final ArrayDeque<Session> idle = new ArrayDeque<>();      // guarded by lock
    private final Map<Session, CancellationToken> busy = new IdentityHashMap<>();   // guarded by lock
    private int active;      // slots held (guarded by lock)
    private boolean closed;  // guarded by lock

    private static final class Waiter {
        final Condition turn;
        boolean granted;

        Waiter(Condition turn) {
            this.turn = turn;
        }
    }

    Admission(Model model, int maxSessions, int queue, int contextLength) {
        this.model = model;
        this.maxSessions = maxSessions;
        this.queue = queue;
        this.contextLength = contextLength;
    }

    /**
     * A session for one request; {@link #release} it when done.
     *
     * @param gone   whether the client went away while waiting (checked every 50 ms)
     * @param cancel the request's token, cancelled by {@link #close()}
     * @return null when the client went away while queued
     * @throws ApiError 429 when the queue is full, 503 when the server is closing
     */
    Session acquire(BooleanSupplier gone, CancellationToken cancel) throws InterruptedException {
        lock.lock();
        try {
            ensureOpen();
            if (active < maxSessions && waiters.isEmpty()) {
                active++;
            } else {
                if (waiters.size() >= queue) {
                    throw new ApiError(429, "rate_limit_exceeded", null, "queue_full",
                            "the server is busy: all sessions are generating and the queue of " + queue + " is full; retry later");
                }
                Waiter w = new Waiter(lock.newCondition());
                waiters.addLast(w);
                try {
                    while (!w.granted) {
                        w.turn.await(50, TimeUnit.MILLISECONDS);
                        if (!w.granted && (closed || gone.getAsBoolean())) {
                            waiters.remove(w);
                            ensureOpen();
                            return null;
                        }
                    }
                } catch (InterruptedException e) {
                    if (!waiters.remove(w)) {
                        releaseSlot();   // granted just before the interrupt: hand the slot on
                    }
                    throw e;
                }
                if (closed) {
                    releaseSlot();
                    ensureOpen();
                }
            }
            Session s = idle.pollFirst();
            if (s == null) {
                try {
                    s = contextLength > 0 ? model.newSession(contextLength) : model.newSession();
                } catch (RuntimeException | Error e) {
                    releaseSlot();
                    throw e;
                }
            }
            busy.put(s, cancel);
            return s;
        } finally {
            lock.unlock();
        }
    }

    void release(Session s) {
        lock.lock();
        try {
            busy.remove(s);
            if (closed) {
                s.close();
            } else {
                idle.addFirst(s);
            }
            releaseSlot();
        } finally {
            lock.unlock();
        }
    }

    /** Gives a freed slot to the longest waiter, or frees it. Holds the lock. */
    private void releaseSlot() {
        Waiter next = waiters.pollFirst();
        if (next != null) {
            next.granted = true;   // the slot passes on: active stays
            next.turn.signal();
        } else {
            active--;
        }
    }

    private void ensureOpen() {
        if (closed) {
            throw new ApiError(503, "server_error", null, "shutting_down", "the server is shutting down");
        }
    }

    int active() {
        lock.lock();
        try {
            return active;
        } finally {
            lock.unlock();
        }
    }

    int waiting() {
        lock.lock();
        try {
            return waiters.size();
        } finally {
            lock.unlock();
        }
    }

    @Override
    public void close() {
        lock.lock();
        try {
            closed = true;
            busy.values().forEach(CancellationToken::cancel);
            idle.forEach(Session::close);
            idle.clear();
            waiters.forEach(w -> w.turn.signal());
        } finally {
            lock.unlock();
        }
    }
}
