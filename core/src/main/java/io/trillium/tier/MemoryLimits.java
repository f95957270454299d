package io.trillium.tier;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * How much memory this process may use: the machine's RAM, capped by the memory cgroup it runs in
 * (v2 {@code memory.max}, v1 {@code memory.limit_in_bytes}). Page cache of mapped files counts against
 * a cgroup's limit, so the expert cache's automatic budget leaves room for the always-active weights.
 */
public final class MemoryLimits {
    private MemoryLimits() {
    }

    /** The smaller of physical RAM and the memory cgroup's limit; what was read says {@link #describe()}. */
    public static long processLimit() {
        long ram = meminfo("MemTotal:");
        long cg = cgroupLimit();
        return cg > 0 && cg < ram ? cg : ram;
    }

    /** "cgroup limit X MiB" or "RAM X MiB": where {@link #processLimit()} came from. */
    public static String describe() {
        long ram = meminfo("MemTotal:");
        long cg = cgroupLimit();
        return cg > 0 && cg < ram ? "memory cgroup limit " + (cg >> 20) + " MiB" : "RAM " + (ram >> 20) + " MiB";
    }

    /**
     * The expert cache budget that fits the process limit next to {@code alwaysActive} bytes of mapped
     * weights, the Java heap's maximum and {@code runtime} bytes for the JVM itself, I/O buffers and KV
     * cache.
     *
     * @throws IllegalStateException when nothing is left (naming the numbers)
     */
    public static long autoBudget(long alwaysActive, long runtime) {
        long limit = processLimit();
        long heap = Runtime.getRuntime().maxMemory();
        long budget = limit - alwaysActive - heap - runtime;
        if (budget <= 0) {
            throw new IllegalStateException("no DRAM left for an expert cache: " + describe() + " minus "
                    + (alwaysActive >> 20) + " MiB of always-active weights, " + (heap >> 20) + " MiB of Java heap and "
                    + (runtime >> 20) + " MiB for the runtime; give --dram-budget explicitly or more memory");
        }
        return budget;
    }

    private static long meminfo(String key) {
        try {
            for (String l : Files.readAllLines(Path.of("/proc/meminfo"))) {
                if (l.startsWith(key)) {
                    return Long.parseLong(l.replaceAll("[^0-9]", "")) << 10;
                }
            }
        } catch (IOException | RuntimeException e) {
            // not Linux: fall through
        }
        return Runtime.getRuntime().maxMemory() * 4;   // a guess where /proc is missing
    }

    /** This process's memory cgroup limit in bytes, or -1 when there is none (or it cannot be read). */
    static long cgroupLimit() {
        try {
            List<String> lines = Files.readAllLines(Path.of("/proc/self/cgroup"));
            for (String l : lines) {
                String[] f = l.split(":", 3);
                if (f.length < 3) {
                    continue;
                }
                Path file = null;
                if (f[0].equals("0") && f[1].isEmpty()) {   // v2 unified
                    file = Path.of("/sys/fs/cgroup" + f[2], "memory.max");
                } else if (List.of(f[1].split(",")).contains("memory")) {   // v1
                    file = Path.of("/sys/fs/cgroup/memory" + f[2], "memory.limit_in_bytes");
                }
                if (file != null && Files.isReadable(file)) {
                    String v = Files.readString(file).strip();
                    if (!v.equals("max")) {
                        long n = Long.parseLong(v);
                        if (n > 0 && n < (1L << 60)) {
                            return n;
                        }
                    }
                }
            }
        } catch (IOException | RuntimeException e) {
            // no cgroup information: no limit
        }
        return -1;
    }
}
