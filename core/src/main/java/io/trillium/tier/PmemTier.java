package io.trillium.tier;

import jdk.nio.mapmode.ExtendedMapMode;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashMap;
import java.util.Map;

/**
 * Persistent memory: each file is mapped once with {@code READ_ONLY_SYNC} (DAX) and read in place.
 * Without DAX (e.g. ext4 mounted without {@code -o dax}) the mapping falls back to a plain read-only
 * one with a warning, unless {@code strictDax} asks for an error instead.
 */
public final class PmemTier implements Tier {
    private static final System.Logger LOG = System.getLogger(PmemTier.class.getName());

    private final boolean strictDax;
    private final Arena arena = Arena.ofShared();
    private final Map<Path, MemorySegment> maps = new HashMap<>();

    /** With {@code strictDax}, a file not on a DAX file system is an error rather than a warning. */
    public PmemTier(boolean strictDax) {
        this.strictDax = strictDax;
    }

    @Override
    public String name() {
        return "pmem";
    }

    @Override
    public boolean inPlace() {
        return true;
    }

    @Override
    public MemorySegment read(Path file, long offset, long length, Arena unused) {
        MemorySegment map = map(file, offset);
        if (offset < 0 || length < 0 || offset + length > map.byteSize()) {
            throw new TierIOException(file, offset, length + " bytes past the end of the file ("
                    + map.byteSize() + " bytes)", null);
        }
        return map.asSlice(offset, length);
    }

    private synchronized MemorySegment map(Path file, long offset) {
        MemorySegment m = maps.get(file);
        if (m != null) {
            return m;
        }
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            try {
                m = ch.map(ExtendedMapMode.READ_ONLY_SYNC, 0, ch.size(), arena);
            } catch (IOException e) {
                if (strictDax) {
                    throw new TierIOException(file, offset, "not on a DAX file system (" + e.getMessage()
                            + "); put it on persistent memory mounted with DAX, e.g. `mount -o dax /dev/pmem0 /mnt/pmem`",
                            e);
                }
                LOG.log(System.Logger.Level.WARNING, "{0}: no DAX ({1}); mapping it as an ordinary file",
                        file, e.getMessage());
                m = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), arena);
            }
        } catch (IOException e) {
            throw new TierIOException(file, offset, "cannot map: " + e.getMessage(), e);
        }
        maps.put(file, m);
        return m;
    }

    @Override
    public synchronized void close() {
        maps.clear();
        arena.close();
    }
}
