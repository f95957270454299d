package io.trillium.cli;

import io.trillium.tier.ReadBandwidth;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;

/**
 * {@code trillium bench-tier PATH [--mode direct|mmap] [--size SIZE] [--block SIZE] [--threads N]}:
 * read bandwidth of the storage holding PATH, for {@code trillium plan}. A directory gets a temporary
 * test file (deleted afterwards); a file is only read.
 */
@Command(name = "bench-tier", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Measure the read bandwidth of the storage holding PATH (for `trillium plan --pmem-bw/--nvme-bw`).",
                "A directory gets a temporary test file of --size, deleted afterwards; a file is only read.",
                "Reads --block-sized blocks at random aligned offsets, --threads in flight."})
final class BenchTierCommand implements Callable<Integer> {

    @Parameters(index = "0", paramLabel = "PATH", description = "directory on the tier, or a file on it (read only)")
    Path path;

    @Option(names = "--mode", paramLabel = "M", defaultValue = "direct",
            description = "direct (O_DIRECT, bypasses the page cache, as the NVMe tier reads) or mmap (as the PMem tier "
                    + "reads; a file in the page cache then reads at DRAM speed) (default ${DEFAULT-VALUE})")
    String mode;

    @Option(names = "--size", paramLabel = "SIZE", defaultValue = "1g",
            description = "bytes to read; a directory gets a test file this large (default ${DEFAULT-VALUE})")
    String size;

    @Option(names = "--block", paramLabel = "SIZE", defaultValue = "4m",
            description = "bytes per read, a multiple of 4 KiB (about one expert matrix; default ${DEFAULT-VALUE})")
    String block;

    @Option(names = "--threads", paramLabel = "N", defaultValue = "4", description = "reads in flight (default ${DEFAULT-VALUE})")
    int threads;

    @Override
    public Integer call() throws IOException {
        ReadBandwidth.Mode m = switch (mode.toLowerCase(Locale.ROOT)) {
            case "direct" -> ReadBandwidth.Mode.DIRECT;
            case "mmap" -> ReadBandwidth.Mode.MMAP;
            default -> throw new IllegalArgumentException("--mode " + mode + ": direct or mmap");
        };
        long bytes = Sizes.bytes("--size", size);
        long blk = Sizes.bytes("--block", block);
        if (blk < 4096 || blk % 4096 != 0) {
            throw new IllegalArgumentException("--block " + block + ": a multiple of 4 KiB (4k, 1m, 4m ...)");
        }
        if (bytes < blk) {
            throw new IllegalArgumentException("--size " + size + " is smaller than one --block " + block);
        }
        if (threads < 1) {
            throw new IllegalArgumentException("--threads must be >= 1, got " + threads);
        }
        PrintStream o = System.out;
        if (Files.isDirectory(path)) {
            Path test = Files.createTempFile(path, ".trillium-bench-tier-", ".tmp");
            try {
                long n = bytes / blk * blk;
                write(test, n);
                boolean dropped = ReadBandwidth.dropFromPageCache(test);
                o.printf("file: %s (temporary, %s written%s)%n", test, InspectCommand.human(n),
                        dropped ? ", dropped from the page cache" : ", may still be in the page cache");
                report(o, ReadBandwidth.measure(test, m, blk, (int) (n / blk), threads), test);
            } finally {
                Files.deleteIfExists(test);
            }
        } else if (Files.isRegularFile(path)) {
            long fileBlocks = Files.size(path) / blk;
            if (fileBlocks < 1) {
                throw new IllegalArgumentException(path + ": " + Files.size(path) + " bytes, less than one --block " + block);
            }
            o.printf("file: %s (read only)%n", path);
            report(o, ReadBandwidth.measure(path, m, blk, (int) Math.min(fileBlocks, bytes / blk), threads), path);
        } else {
            throw new IllegalArgumentException(path + ": no such file or directory");
        }
        return 0;
    }

    /** Pseudo-random bytes (no file system can compress or deduplicate them), forced to the device. */
    private static void write(Path file, long n) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ByteBuffer buf = ByteBuffer.allocateDirect(1 << 20);
            SplittableRandom r = new SplittableRandom(7);
            for (long at = 0; at < n; ) {
                buf.clear();
                while (buf.remaining() >= 8) {
                    buf.putLong(r.nextLong());
                }
                buf.flip().limit((int) Math.min(buf.limit(), n - at));
                while (buf.hasRemaining()) {
                    at += ch.write(buf, at);
                }
            }
            ch.force(true);
        }
    }

    private static void report(PrintStream o, ReadBandwidth.Result r, Path file) {
        o.printf(Locale.ROOT, "read: %.2f GB/s (%s, block %s, %d threads)%n", r.bytesPerSecond() / 1e9,
                r.mode().name().toLowerCase(Locale.ROOT), InspectCommand.human(r.block()), r.threads());
        o.printf(Locale.ROOT, "%s in %d reads at random aligned offsets, %.3f s%n", InspectCommand.human(r.bytes()),
                r.reads(), r.seconds());
        if (r.mode() == ReadBandwidth.Mode.MMAP) {
            o.println("note: mmap reads include the page cache: a cached file reads at DRAM speed, not the device's");
        }
    }
}
