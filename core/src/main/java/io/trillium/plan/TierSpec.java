package io.trillium.plan;

import java.nio.file.Path;
import java.util.Objects;

/**
 * A memory or storage tier the planner may place weights on.
 *
 * @param name      vram, dram, pmem or nvme (any short name; shown in the table)
 * @param capacity  bytes the model may use there
 * @param bandwidth read bandwidth in bytes per second (measured by {@code trillium bench-tier} or given)
 * @param path      where a file-backed tier lives (PMem mount, NVMe directory), or null
 */
public record TierSpec(String name, long capacity, double bandwidth, Path path) {

    public TierSpec {
        Objects.requireNonNull(name, "name");
        if (capacity < 0) {
            throw new IllegalArgumentException("tier " + name + ": capacity must be >= 0, got " + capacity);
        }
        if (!(bandwidth > 0) || Double.isInfinite(bandwidth)) {
            throw new IllegalArgumentException("tier " + name + ": bandwidth must be a positive number of bytes/s, got "
                    + bandwidth);
        }
    }

    public TierSpec(String name, long capacity, double bandwidth) {
        this(name, capacity, bandwidth, null);
    }
}
