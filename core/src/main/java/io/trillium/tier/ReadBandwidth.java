package io.trillium.tier;

import com.sun.nio.file.ExtendedOpenOption;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * Read bandwidth of the storage under a file, the way the tiers read it: blocks of expert size at
 * random aligned offsets, several in flight. {@link Mode#DIRECT} reads with {@code O_DIRECT} as
 * {@link NvmeTier} does (the page cache is bypassed); {@link Mode#MMAP} copies from a read-only
 * mapping as {@link PmemTier} computes on one (a file in the page cache then reads at DRAM speed).
 */
public final class ReadBandwidth {

    /** How to read. */
    public enum Mode { DIRECT, MMAP }

    /** What a run read: {@code bytes} in {@code reads} blocks over {@code seconds}. */
    public record Result(Mode mode, long block, int threads, int reads, long bytes, double seconds) {
        public double bytesPerSecond() {
            return bytes / seconds;
        }
    }

    private ReadBandwidth() {
    }

    /**
     * Reads {@code reads} distinct {@code block}-sized, block-aligned ranges of {@code file} in random
     * order (fixed seed) on {@code threads} threads. The file is only read.
     */
    public static Result measure(Path file, Mode mode, long block, int reads, int threads) throws IOException {
        if (block < NvmeTier.BLOCK || block % NvmeTier.BLOCK != 0) {
            throw new IllegalArgumentException("block must be a positive multiple of 4 KiB, got " + block);
        }
        if (threads < 1 || reads < 1) {
            throw new IllegalArgumentException("threads and reads must be >= 1: " + threads + ", " + reads);
        }
        try (FileChannel ch = open(file, mode); Arena arena = Arena.ofShared()) {
            long blocks = ch.size() / block;
            if (blocks < reads) {
                throw new IllegalArgumentException(file + ": " + ch.size() + " bytes hold " + blocks + " blocks of "
                        + block + " bytes, " + reads + " wanted");
            }
            long[] offsets = distinctBlocks(blocks, reads, block);
            MemorySegment map = mode == Mode.MMAP ? ch.map(FileChannel.MapMode.READ_ONLY, 0, blocks * block, arena) : null;
            AtomicInteger next = new AtomicInteger();
            ExecutorService pool = Executors.newFixedThreadPool(threads);
            try {
                Future<?>[] done = new Future<?>[threads];
                long start = System.nanoTime();
                for (int t = 0; t < threads; t++) {
                    done[t] = pool.submit(() -> {
                        try (Arena own = Arena.ofConfined()) {
                            MemorySegment buf = own.allocate(block, NvmeTier.BLOCK);
                            ByteBuffer bb = buf.asByteBuffer();
                            for (int i; (i = next.getAndIncrement()) < reads; ) {
                                if (map != null) {
                                    MemorySegment.copy(map, offsets[i], buf, 0, block);
                                } else {
                                    readFully(ch, bb.clear(), offsets[i], file);
                                }
                            }
                        }
                        return null;
                    });
                }
                for (Future<?> f : done) {
                    f.get();
                }
                double sec = (System.nanoTime() - start) / 1e9;
                return new Result(mode, block, threads, reads, reads * block, sec);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted", e);
            } catch (ExecutionException e) {
                if (e.getCause() instanceof IOException io) {
                    throw io;
                }
                throw e.getCause() instanceof RuntimeException r ? r : new IllegalStateException(e.getCause());
            } finally {
                pool.shutdownNow();
            }
        }
    }

    private static FileChannel open(Path file, Mode mode) throws IOException {
        if (mode == Mode.MMAP) {
            return FileChannel.open(file, StandardOpenOption.READ);
        }
        try {
            return FileChannel.open(file, StandardOpenOption.READ, ExtendedOpenOption.DIRECT);
        } catch (IOException | UnsupportedOperationException e) {
            throw new IOException(file + ": the file system does not support O_DIRECT (" + e.getMessage()
                    + "); use --mode mmap", e);
        }
    }

    private static void readFully(FileChannel ch, ByteBuffer bb, long offset, Path file) throws IOException {
        while (bb.hasRemaining()) {
            if (ch.read(bb, offset + bb.position()) <= 0) {
                throw new TierIOException(file, offset, "short read: " + bb.position() + " of " + bb.capacity() + " bytes", null);
            }
        }
    }

    /**
     * Asks the kernel to drop {@code file}'s clean pages from the page cache ({@code posix_fadvise
     * DONTNEED}; Linux only, best effort), so a mapping of a file just written reads from the device.
     * Returns whether the call succeeded. Dirty pages stay: force the file to disk first.
     */
    public static boolean dropFromPageCache(Path file) {
        if (!System.getProperty("os.name", "").toLowerCase(Locale.ROOT).contains("linux")) {
            return false;
        }
        try {
            Linker linker = Linker.nativeLinker();
            SymbolLookup libc = linker.defaultLookup();
            MethodHandle open = linker.downcallHandle(libc.find("open").orElseThrow(),
                    FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
            MethodHandle fadvise = linker.downcallHandle(libc.find("posix_fadvise").orElseThrow(),
                    FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_INT));
            MethodHandle close = linker.downcallHandle(libc.find("close").orElseThrow(),
                    FunctionDescriptor.of(JAVA_INT, JAVA_INT));
            try (Arena a = Arena.ofConfined()) {
                int fd = (int) open.invokeExact(a.allocateFrom(file.toString()), 0);   // O_RDONLY
                if (fd < 0) {
                    return false;
                }
                int rc = (int) fadvise.invokeExact(fd, 0L, 0L, 4);                      // POSIX_FADV_DONTNEED
                int ignored = (int) close.invokeExact(fd);
                return rc == 0;
            }
        } catch (Throwable t) {
            return false;
        }
    }

    /** {@code n} distinct block offsets out of {@code blocks}, shuffled (partial Fisher-Yates, seed fixed). */
    static long[] distinctBlocks(long blocks, int n, long block) {
        SplittableRandom r = new SplittableRandom(42);
        long[] out = new long[n];
        Map<Long, Long> swapped = new HashMap<>();   // sparse permutation of [0, blocks)
        for (int i = 0; i < n; i++) {
            long j = i + r.nextLong(blocks - i);
            long vj = swapped.getOrDefault(j, j);
            swapped.put(j, swapped.getOrDefault((long) i, (long) i));
            out[i] = vj * block;
        }
        return out;
    }
}
