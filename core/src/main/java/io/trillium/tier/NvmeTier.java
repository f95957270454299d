package io.trillium.tier;

import com.sun.nio.file.ExtendedOpenOption;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashMap;
import java.util.Map;

/**
 * NVMe read with {@code O_DIRECT}: bypasses the page cache so expert streaming does not evict the rest
 * of the model. Direct I/O needs 4 KiB-aligned buffers, positions and lengths, so each read covers the
 * aligned range around the requested bytes and returns the slice that was asked for.
 */
public final class NvmeTier implements Tier {
    static final int BLOCK = 4096;

    private final Map<Path, FileChannel> channels = new HashMap<>();

    @Override
    public String name() {
        return "nvme";
    }

    @Override
    public MemorySegment read(Path file, long offset, long length, Arena arena) {
        long start = offset & -BLOCK;
        long end = (offset + length + BLOCK - 1) & -BLOCK;
        MemorySegment buf = arena.allocate(end - start, BLOCK);
        readAligned(file, offset, length, buf);
        return buf.asSlice(offset - start, length);
    }

    // Aligned bounce buffers (direct I/O cannot land at odd offsets), borrowed per read and given back:
    // as many exist as reads ever ran at once, whatever the number of threads. Each has its own arena,
    // so one outgrown by a larger read is freed.
    private record Buffer(Arena arena, MemorySegment memory) {
    }

    private final java.util.concurrent.ConcurrentLinkedQueue<Buffer> buffers = new java.util.concurrent.ConcurrentLinkedQueue<>();
    private volatile boolean closed;

    @Override
    public void readInto(Path file, long offset, MemorySegment dst) {
        long length = dst.byteSize();
        long start = offset & -BLOCK;
        long span = ((offset + length + BLOCK - 1) & -BLOCK) - start;
        Buffer buf = buffers.poll();
        if (buf != null && buf.memory.byteSize() < span) {
            buf.arena.close();
            buf = null;
        }
        if (buf == null) {
            Arena a = Arena.ofShared();
            buf = new Buffer(a, a.allocate(Math.max(span, 4L << 20), BLOCK));
        }
        try {
            readAligned(file, offset, length, buf.memory.asSlice(0, span));
            dst.copyFrom(buf.memory.asSlice(offset - start, length));
        } finally {
            if (closed) {
                buf.arena.close();
            } else {
                buffers.offer(buf);
            }
        }
    }

    /** Reads the 4 KiB-aligned range around {@code [offset, offset + length)} into {@code buf}. */
    private void readAligned(Path file, long offset, long length, MemorySegment buf) {
        long start = offset & -BLOCK;
        ByteBuffer bb = buf.asByteBuffer();
        try {
            FileChannel ch = channel(file);
            long size = ch.size();
            if (offset + length > size) {
                throw new TierIOException(file, offset, length + " bytes past the end of the file (" + size
                        + " bytes)", null);
            }
            // The last block of a file may be short: a direct read then returns fewer bytes, which is fine
            // as long as the requested range is covered.
            long want = offset + length - start;
            while (bb.position() < want) {
                int n = ch.read(bb, start + bb.position());
                if (n <= 0) {
                    throw new TierIOException(file, offset, "short read: " + bb.position() + " of " + want
                            + " bytes from aligned offset " + start, null);
                }
            }
        } catch (IOException e) {
            throw new TierIOException(file, offset, "read failed: " + e.getMessage(), e);
        }
    }

    private synchronized FileChannel channel(Path file) throws IOException {
        if (closed) {
            throw new IOException("the NVMe tier is closed");
        }
        FileChannel ch = channels.get(file);
        if (ch == null) {
            ch = FileChannel.open(file, StandardOpenOption.READ, ExtendedOpenOption.DIRECT);
            channels.put(file, ch);
        }
        return ch;
    }

    @Override
    public synchronized void close() {
        closed = true;
        for (FileChannel ch : channels.values()) {
            try {
                ch.close();
            } catch (IOException ignored) {
                // read-only: nothing to lose
            }
        }
        channels.clear();
        for (Buffer b; (b = buffers.poll()) != null; ) {   // buffers in use are closed by their readers
            b.arena.close();
        }
    }
}
