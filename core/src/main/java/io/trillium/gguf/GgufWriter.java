package io.trillium.gguf;

import io.trillium.quant.GgmlType;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * Writes GGUF files: declare metadata and tensors, then {@link #write} streams each tensor's bytes,
 * in declaration order, through a {@link TensorData} callback that fills a mapped window of the
 * output file. Only the header is held in memory, so models of any size can be written.
 *
 * <p>Files are written to a temporary sibling and moved into place when complete; an existing
 * file is never replaced unless {@link #overwrite(boolean)} asks for it.
 *
 * <pre>{@code
 * new GgufWriter()
 *     .put("general.architecture", GgufValue.string("llama"))
 *     .tensor("w", GgmlType.F32, 4, 2)
 *     .write(path, (t, dst) -> dst.fill((byte) 0));
 * }</pre>
 */
public final class GgufWriter {

    /** Fills one tensor's data. */
    @FunctionalInterface
    public interface TensorData {
        /**
         * Writes the {@code tensor.byteSize()} bytes of {@code tensor} into {@code dst} (a
         * read-write mapping of exactly that region, zero-filled; valid only during the call).
         */
        void write(GgufTensorInfo tensor, MemorySegment dst) throws IOException;

        /** Copies each tensor, by name, from {@code source} (to rewrite or re-split a model). */
        static TensorData copyFrom(GgufFile source) {
            return (t, dst) -> dst.copyFrom(source.tensor(t.name()).data());
        }
    }

    private record Decl(String name, GgmlType type, long[] shape, long byteSize) {
    }

    private final Map<String, GgufValue> metadata = new LinkedHashMap<>();
    private final List<Decl> tensors = new ArrayList<>();
    private final Set<String> names = new HashSet<>();
    private int version = 3;
    private boolean overwrite;

    /** Sets (or replaces) a metadata value; order of first insertion is kept. */
    public GgufWriter put(String key, GgufValue value) {
        Objects.requireNonNull(value, "value");
        if (key == null || key.isEmpty()) {
            throw new IllegalArgumentException("metadata keys must not be empty");
        }
        if (key.getBytes(StandardCharsets.UTF_8).length > GgufParser.MAX_KEY_BYTES) {
            throw new IllegalArgumentException("metadata key longer than 65535 bytes: " + key.substring(0, 40) + "…");
        }
        if (key.equals(GgufParser.ALIGNMENT_KEY)) {
            alignmentOf(value);
        }
        metadata.put(key, value);
        return this;
    }

    /** Copies every key of {@code m} (e.g. to rewrite a model). */
    public GgufWriter putAll(GgufMetadata m) {
        m.asMap().forEach(this::put);
        return this;
    }

    /** The metadata declared so far (a snapshot). */
    public GgufMetadata metadata() {
        return new GgufMetadata(null, metadata);
    }

    /** The tensors declared so far, in order, as (name, type, shape) with no placement yet (offsets -1). */
    public List<GgufTensorInfo> tensors() {
        return tensors.stream().map(d -> new GgufTensorInfo(d.name, d.type, d.shape, 0, -1, d.byteSize, -1)).toList();
    }

    public GgufWriter remove(String key) {
        metadata.remove(key);
        return this;
    }

    /** Sets {@code general.alignment} (a power of two; default 32). */
    public GgufWriter alignment(int alignment) {
        return put(GgufParser.ALIGNMENT_KEY, GgufValue.u32(alignment));
    }

    /** GGUF version to write: 3 (default) or 2 (same layout, for compatibility tests). */
    public GgufWriter version(int version) {
        if (version != 2 && version != 3) {
            throw new IllegalArgumentException("can write GGUF version 2 or 3, not " + version);
        }
        this.version = version;
        return this;
    }

    /** Whether {@link #write} may replace existing files (default false). */
    public GgufWriter overwrite(boolean overwrite) {
        this.overwrite = overwrite;
        return this;
    }

    /** Declares a tensor; data is written in declaration order. */
    public GgufWriter tensor(String name, GgmlType type, long... shape) {
        Objects.requireNonNull(type, "type");
        if (!type.isGguf()) {
            throw new IllegalArgumentException(name + ": " + type + " is a checkpoint-only type with no GGUF id");
        }
        if (name == null || name.isEmpty() || name.getBytes(StandardCharsets.UTF_8).length >= 64) {
            throw new IllegalArgumentException("tensor names need 1 to 63 bytes (GGML_MAX_NAME): '" + name + "'");
        }
        if (shape.length < 1 || shape.length > GgufParser.MAX_DIMS) {
            throw new IllegalArgumentException(name + ": 1 to 4 dims, got " + shape.length);
        }
        long n = 1;
        for (long d : shape) {
            if (d < 0) {
                throw new IllegalArgumentException(name + ": negative dim in " + Arrays.toString(shape));
            }
            n = Math.multiplyExact(n, d);
        }
        if (shape[0] % type.blockSize() != 0) {
            throw new IllegalArgumentException(name + ": ne0 = " + shape[0] + " is not a multiple of the "
                    + type + " block size " + type.blockSize());
        }
        if (!names.add(name)) {
            throw new IllegalArgumentException("duplicate tensor name '" + name + "'");
        }
        tensors.add(new Decl(name, type, shape.clone(), type.bytesFor(n)));
        return this;
    }

    /** Writes one file. {@code data} may be null to leave every tensor zero. Returns {@code path}. */
    public Path write(Path path, TensorData data) throws IOException {
        refuseExisting(List.of(path));
        writePart(path, metadata, tensors, 0, data);
        return path;
    }

    /**
     * Writes a split set {@code <prefix>-00001-of-0000N.gguf} … like llama.cpp's gguf-split: a new
     * part starts when the current one holds {@code maxTensors} tensors or the next tensor would
     * take its data past {@code maxBytes} (each limit ignored when ≤ 0). Part 1 carries all the
     * metadata; every part carries {@code split.no} (u16), {@code split.count} (u16) and
     * {@code split.tensors.count} (i32). Returns the paths, part 1 first.
     */
    public List<Path> writeSplit(Path prefix, int maxTensors, long maxBytes, TensorData data) throws IOException {
        String base = prefix.getFileName().toString();
        if (base.endsWith(".gguf")) {
            prefix = prefix.resolveSibling(base.substring(0, base.length() - 5));
        }
        int alignment = alignmentOf(metadata.get(GgufParser.ALIGNMENT_KEY));
        List<List<Decl>> groups = new ArrayList<>();
        List<Decl> cur = new ArrayList<>();
        long curBytes = 0;
        for (Decl d : tensors) {
            long padded = GgufParser.align(d.byteSize, alignment);
            if (!cur.isEmpty() && ((maxTensors > 0 && cur.size() >= maxTensors)
                    || (maxBytes > 0 && curBytes + padded > maxBytes))) {
                groups.add(cur);
                cur = new ArrayList<>();
                curBytes = 0;
            }
            cur.add(d);
            curBytes += padded;
        }
        groups.add(cur);
        int n = groups.size();
        if (n > 99999) {
            throw new IllegalArgumentException(n + " split parts, at most 99999");
        }
        List<Path> paths = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            paths.add(GgufFile.splitPath(prefix, i + 1, n));
        }
        refuseExisting(paths);
        List<Path> done = new ArrayList<>();
        try {
            for (int i = 0; i < n; i++) {
                Map<String, GgufValue> meta = new LinkedHashMap<>();
                if (i == 0) {
                    meta.putAll(metadata);
                } else if (metadata.containsKey(GgufParser.ALIGNMENT_KEY)) {
                    meta.put(GgufParser.ALIGNMENT_KEY, metadata.get(GgufParser.ALIGNMENT_KEY));
                }
                meta.remove(GgufFile.SPLIT_NO);
                meta.remove(GgufFile.SPLIT_COUNT);
                meta.remove(GgufFile.SPLIT_TENSORS);
                meta.put(GgufFile.SPLIT_NO, GgufValue.u16(i));
                meta.put(GgufFile.SPLIT_COUNT, GgufValue.u16(n));
                meta.put(GgufFile.SPLIT_TENSORS, GgufValue.i32(tensors.size()));
                writePart(paths.get(i), meta, groups.get(i), i, data);
                done.add(paths.get(i));
            }
        } catch (IOException | RuntimeException | Error e) {
            for (Path p : done) {
                Files.deleteIfExists(p); // ours, from this call: an incomplete set is useless
            }
            throw e;
        }
        return paths;
    }

    private void refuseExisting(List<Path> paths) throws FileAlreadyExistsException {
        if (!overwrite) {
            for (Path p : paths) {
                if (Files.exists(p)) {
                    throw new FileAlreadyExistsException(p.toString(), null,
                            "refusing to overwrite an existing file (GgufWriter.overwrite(true) allows it)");
                }
            }
        }
    }

    private static int alignmentOf(GgufValue v) {
        if (v == null) {
            return GgufParser.DEFAULT_ALIGNMENT;
        }
        long a = v.type() == GgufValueType.UINT32 ? (Long) v.value() : -1;
        if (a <= 0 || a > (1 << 30) || Long.bitCount(a) != 1) {
            throw new IllegalArgumentException(GgufParser.ALIGNMENT_KEY + " must be a UINT32 power of two, got " + v);
        }
        return (int) a;
    }

    private void writePart(Path target, Map<String, GgufValue> meta, List<Decl> decls, int part, TensorData data)
            throws IOException {
        int alignment = alignmentOf(meta.get(GgufParser.ALIGNMENT_KEY));
        Out h = new Out();
        h.u32(GgufParser.MAGIC);
        h.u32(version);
        h.u64(decls.size());
        h.u64(meta.size());
        for (Map.Entry<String, GgufValue> e : meta.entrySet()) {
            h.string(e.getKey());
            h.u32(e.getValue().type().id());
            h.value(e.getValue().type(), e.getValue().value());
        }
        long[] offsets = new long[decls.size()];
        long end = 0;
        for (int i = 0; i < decls.size(); i++) {
            Decl d = decls.get(i);
            offsets[i] = GgufParser.align(end, alignment);
            end = offsets[i] + d.byteSize;
            h.string(d.name);
            h.u32(d.shape.length);
            for (long dim : d.shape) {
                h.u64(dim);
            }
            h.u32(d.type.id());
            h.u64(offsets[i]);
        }
        long dataStart = GgufParser.align(h.size(), alignment);
        long fileSize = dataStart + GgufParser.align(end, alignment);

        Path dir = target.toAbsolutePath().getParent();
        // Not Files.createTempFile: its 0600 mode would stick to the model file; this honours the umask.
        Path tmp = dir.resolve("." + target.getFileName() + "." + ProcessHandle.current().pid() + "."
                + System.nanoTime() + ".tmp");
        try {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.READ,
                    StandardOpenOption.WRITE)) {
                ByteBuffer header = h.buffer();
                while (header.hasRemaining()) {
                    ch.write(header, header.position());
                }
                if (fileSize > h.size()) {
                    ch.write(ByteBuffer.allocate(1), fileSize - 1); // extend: padding and data start as zeros (sparse)
                }
                for (int i = 0; i < decls.size(); i++) {
                    Decl d = decls.get(i);
                    GgufTensorInfo info = new GgufTensorInfo(d.name, d.type, d.shape, part, offsets[i], d.byteSize,
                            dataStart + offsets[i]);
                    if (data != null && d.byteSize > 0) {
                        try (Arena arena = Arena.ofConfined()) {
                            data.write(info, ch.map(FileChannel.MapMode.READ_WRITE, info.fileOffset(), d.byteSize, arena));
                        }
                    }
                }
            }
            publish(tmp, target);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /** Moves the finished file into place, replacing nothing unless asked. */
    private void publish(Path tmp, Path target) throws IOException {
        if (overwrite) {
            Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            return;
        }
        try {
            Files.createLink(target, tmp); // atomic and fails if target exists
        } catch (FileAlreadyExistsException e) {
            throw new FileAlreadyExistsException(target.toString(), null,
                    "refusing to overwrite an existing file (GgufWriter.overwrite(true) allows it)");
        } catch (UnsupportedOperationException | IOException e) {
            Files.move(tmp, target); // no hard links here: fails if target exists
        }
    }

    /** Little-endian header bytes. */
    private static final class Out {
        private ByteBuffer buf = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);

        private void room(long n) {
            if (buf.remaining() < n) {
                long cap = Math.max((long) buf.capacity() * 2, buf.position() + n);
                if (cap > Integer.MAX_VALUE - 8) {
                    throw new IllegalArgumentException("GGUF header larger than 2 GiB");
                }
                ByteBuffer b = ByteBuffer.allocate((int) cap).order(ByteOrder.LITTLE_ENDIAN);
                b.put(buf.flip());
                buf = b;
            }
        }

        int size() {
            return buf.position();
        }

        ByteBuffer buffer() {
            return buf.duplicate().flip();
        }

        void u8(int v) { room(1); buf.put((byte) v); }
        void u16(int v) { room(2); buf.putShort((short) v); }
        void u32(long v) { room(4); buf.putInt((int) v); }
        void u64(long v) { room(8); buf.putLong(v); }

        void string(String s) {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            u64(b.length);
            room(b.length);
            buf.put(b);
        }

        void value(GgufValueType type, Object v) {
            switch (type) {
                case UINT8, INT8 -> u8((Integer) v);
                case UINT16, INT16 -> u16((Integer) v);
                case UINT32 -> u32((Long) v);
                case INT32 -> u32((Integer) v);
                case UINT64, INT64 -> u64((Long) v);
                case FLOAT32 -> u32(Float.floatToRawIntBits((Float) v));
                case FLOAT64 -> u64(Double.doubleToRawLongBits((Double) v));
                case BOOL -> u8((Boolean) v ? 1 : 0);
                case STRING -> string((String) v);
                case ARRAY -> {
                    GgufArray a = (GgufArray) v;
                    u32(a.elementType().id());
                    u64(a.size());
                    for (int i = 0, n = a.size(); i < n; i++) {
                        value(a.elementType(), a.get(i));
                    }
                }
            }
        }
    }
}
