package io.trillium.gguf;

import io.trillium.quant.Tensor;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A GGUF model: one file, or a split set {@code <prefix>-00001-of-0000N.gguf} … opened as one.
 * Every part is memory-mapped read-only into one shared arena; only headers are parsed at open
 * time, so a 400 GB model opens as fast as a 4 MB one. {@link #tensor} returns zero-copy views
 * that stay valid until {@link #close()}.
 */
public final class GgufFile implements TensorSource {
    static final String SPLIT_NO = "split.no";
    static final String SPLIT_COUNT = "split.count";
    static final String SPLIT_TENSORS = "split.tensors.count";
    private static final Pattern SPLIT_NAME = Pattern.compile("(.*)-(\\d{5})-of-(\\d{5})\\.gguf");

    private final Arena arena;
    private final List<GgufParser.Part> parts;
    private final GgufMetadata metadata;
    private final List<GgufTensorInfo> tensors;
    private final Map<String, GgufTensorInfo> byName;
    private boolean closed;

    private GgufFile(Arena arena, List<GgufParser.Part> parts, List<GgufTensorInfo> tensors,
                     Map<String, GgufTensorInfo> byName) {
        this.arena = arena;
        this.parts = List.copyOf(parts);
        this.metadata = new GgufMetadata(parts.getFirst().path(), parts.getFirst().metadata());
        this.tensors = Collections.unmodifiableList(tensors);
        this.byName = byName;
    }

    /**
     * Opens a single GGUF file, or the first file of a split set (then all parts are opened and
     * checked: {@code split.no}, {@code split.count}, {@code split.tensors.count}, unique names).
     *
     * @throws GgufFormatException if a file is malformed, a part is missing or the parts disagree
     * @throws IOException         if a file cannot be read
     */
    public static GgufFile open(Path path) throws IOException {
        Arena arena = Arena.ofShared();
        try {
            return open(path, arena);
        } catch (Throwable t) {
            arena.close();
            throw t;
        }
    }

    private static GgufFile open(Path path, Arena arena) throws IOException {
        GgufParser.Part first = GgufParser.parse(path, map(path, arena), 0);
        Matcher m = SPLIT_NAME.matcher(path.getFileName().toString());
        boolean named = m.matches();
        long count = splitKey(first, SPLIT_COUNT, 1);
        if (named && Integer.parseInt(m.group(2)) != 1) {
            throw new GgufFormatException(path, -1, "this is part " + Integer.parseInt(m.group(2))
                    + " of a split model: open the first part, "
                    + splitPath(path.resolveSibling(m.group(1)), 1, Integer.parseInt(m.group(3))));
        }
        if (count < 1 || count > 99999) {
            throw new GgufFormatException(path, -1, SPLIT_COUNT + " = " + count + ", expected 1 to 99999");
        }
        if (named && Integer.parseInt(m.group(3)) != count) {
            throw new GgufFormatException(path, -1, "the name says " + Integer.parseInt(m.group(3))
                    + " parts but " + SPLIT_COUNT + " = " + count
                    + (first.metadata().containsKey(SPLIT_COUNT) ? "" : " (absent)"));
        }
        if (count > 1 && !named) {
            throw new GgufFormatException(path, -1, SPLIT_COUNT + " = " + count
                    + " but the name does not follow <prefix>-00001-of-" + String.format("%05d", count) + ".gguf");
        }
        List<GgufParser.Part> parts = new ArrayList<>();
        parts.add(first);
        for (int i = 1; i < count; i++) {
            Path p = splitPath(path.resolveSibling(m.group(1)), i + 1, (int) count);
            if (!Files.exists(p)) {
                throw new GgufFormatException(p, -1, "split part " + (i + 1) + " of " + count + " is missing: expected "
                        + p + " beside " + path.getFileName());
            }
            parts.add(GgufParser.parse(p, map(p, arena), i));
        }

        List<GgufTensorInfo> tensors = new ArrayList<>();
        Map<String, GgufTensorInfo> byName = new HashMap<>();
        for (GgufParser.Part part : parts) {
            for (GgufTensorInfo t : part.tensors()) {
                GgufTensorInfo dup = byName.putIfAbsent(t.name(), t);
                if (dup != null) {
                    throw new GgufFormatException(part.path(), -1, "tensor '" + t.name()
                            + "' is also in split part " + (dup.part() + 1) + " (" + parts.get(dup.part()).path()
                            + "): expected unique tensor names");
                }
                tensors.add(t);
            }
        }
        for (int i = 0; i < parts.size(); i++) {
            GgufParser.Part part = parts.get(i);
            if (count == 1 && !part.metadata().containsKey(SPLIT_COUNT)) {
                break; // a plain single file
            }
            expect(part, SPLIT_NO, i);
            expect(part, SPLIT_COUNT, count);
            expect(part, SPLIT_TENSORS, tensors.size());
        }
        return new GgufFile(arena, parts, tensors, byName);
    }

    private static long splitKey(GgufParser.Part part, String key, long otherwise) {
        GgufValue v = part.metadata().get(key);
        if (v == null) {
            return otherwise;
        }
        if (!v.type().isInteger()) {
            throw new GgufFormatException(part.path(), -1, key + " is " + v + ", expected an integer");
        }
        return ((Number) v.value()).longValue();
    }

    private static void expect(GgufParser.Part part, String key, long expected) {
        if (!part.metadata().containsKey(key)) {
            throw new GgufFormatException(part.path(), -1, "split metadata key " + key + " is missing, expected "
                    + expected);
        }
        long v = splitKey(part, key, -1);
        if (v != expected) {
            throw new GgufFormatException(part.path(), -1, key + " = " + v + ", expected " + expected);
        }
    }

    private static MemorySegment map(Path path, Arena arena) throws IOException {
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            return ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), arena);
        }
    }

    /** The file name of part {@code no} (1-based) of {@code count}: {@code <prefix>-0000no-of-0count.gguf}. */
    public static Path splitPath(Path prefix, int no, int count) {
        return prefix.resolveSibling(prefix.getFileName() + String.format("-%05d-of-%05d.gguf", no, count));
    }

    /** GGUF version of the first file (2 or 3). */
    public int version() {
        return parts.getFirst().version();
    }

    /** The files, in split order (one for a plain file). */
    public List<Path> files() {
        return parts.stream().map(GgufParser.Part::path).toList();
    }

    /** The model metadata (from the first part; the others hold only {@code split.*}). */
    public GgufMetadata metadata() {
        return metadata;
    }

    /** The metadata of one split part. */
    public GgufMetadata metadata(int part) {
        GgufParser.Part p = parts.get(part);
        return part == 0 ? metadata : new GgufMetadata(p.path(), p.metadata());
    }

    /** All tensors, in file order (part by part). */
    public List<GgufTensorInfo> tensors() {
        return tensors;
    }

    @Override
    public long[] dims(String name) {
        return tensorInfo(name).shape();
    }

    @Override
    public boolean hasTensor(String name) {
        return byName.containsKey(name);
    }

    /** The info of tensor {@code name}; throws naming the file if there is none. */
    public GgufTensorInfo tensorInfo(String name) {
        GgufTensorInfo t = byName.get(name);
        if (t == null) {
            throw new GgufFormatException(parts.getFirst().path(), -1, "no tensor named '" + name + "'",
                    new NoSuchElementException(name));
        }
        return t;
    }

    /** A zero-copy view of tensor {@code name}, valid until {@link #close()}. */
    public Tensor tensor(String name) {
        return view(tensorInfo(name));
    }

    /** The view of {@code name}, or empty if the model has no such tensor (e.g. a tied output). */
    @Override
    public Optional<Tensor> findTensor(String name) {
        GgufTensorInfo t = byName.get(name);
        return t == null ? Optional.empty() : Optional.of(view(t));
    }

    /** A zero-copy view of the tensor {@code t} of this file. */
    public Tensor view(GgufTensorInfo t) {
        MemorySegment seg = parts.get(t.part()).segment();
        return new Tensor(t.name(), t.type(), t.shape(), seg.asSlice(t.fileOffset(), t.byteSize()));
    }

    /** The whole mapping of one part (read-only). */
    public MemorySegment segment(int part) {
        return parts.get(part).segment();
    }

    /** Data alignment of the first part. */
    public int alignment() {
        return parts.getFirst().alignment();
    }

    /** Number of split parts. */
    public int partCount() {
        return parts.size();
    }

    /** Absolute offset of the data section of {@code part}. */
    public long dataOffset(int part) {
        return parts.get(part).dataOffset();
    }

    /** Unmaps every part; tensor views become unusable. */
    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            arena.close();
        }
    }

    @Override
    public String toString() {
        return "GgufFile" + files() + " v" + version() + ", " + tensors.size() + " tensors";
    }
}
