package io.trillium.tier;

import io.trillium.gguf.GgufFile;
import io.trillium.moe.ExpertStats;
import io.trillium.quant.GgmlType;

import java.io.IOException;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.zip.CRC32;

/**
 * A repacked expert-major file ({@code trillium repack}): each routed expert's gate, up and down bytes
 * back to back at a 4 KiB-aligned offset, experts in popularity order per layer, so that one expert is
 * one direct read and hot experts sit together. The bytes are the GGUF's, copied exactly; the file
 * names the model it was made from and is checked against it when opened. By convention the NVMe
 * placement ({@link ExpertPlacement#nvme}) uses {@code MODEL.experts} beside the model (see {@link #beside}).
 *
 * <p>Format (little-endian): an index, then the experts from the first 4 KiB boundary after it.
 * <pre>
 * magic "TRLMEXPS", u32 version (1), u32 index length (bytes before the CRC)
 * u64 model bytes (all parts), u8[32] SHA-256 of the model's headers (each part's bytes before its data),
 * u8[32] SHA-256 of the first 4 KiB of each expert tensor (models of one shape differ there)
 * u32 layers, u32 experts, u32 alignment (4096), u32 name length, the model file name (UTF-8)
 * per layer: u32 1 if it has routed experts, else 0; for a MoE layer:
 *   3 × (u32 ggml type, u64 cols, u64 rows, u64 bytes)        gate, up, down
 *   experts × (u32 expert id, u64 offset)                     in file order (most popular first)
 * u32 CRC-32 of everything before it
 * </pre>
 */
public final class RepackedLayout implements ExpertLayout {
    static final byte[] MAGIC = "TRLMEXPS".getBytes(StandardCharsets.US_ASCII);
    static final int VERSION = 1;
    static final int ALIGN = NvmeTier.BLOCK;
    private static final int FIXED = 8 + 4 + 4;   // magic, version, index length

    /** One MoE layer's entry: part shapes and each expert's offset (by expert id). */
    private record LayerIndex(GgmlType[] types, long[] cols, long[] rows, long[] bytes, int[] order, long[] offset) {
    }

    private final Path file;
    private final int experts;
    private final LayerIndex[] layers;

    private RepackedLayout(Path file, int experts, LayerIndex[] layers) {
        this.file = file;
        this.experts = experts;
        this.layers = layers;
    }

    /** The conventional repack file of {@code model}: {@code MODEL.experts} in the same directory. */
    public static Path beside(Path model) {
        return model.resolveSibling(model.getFileName() + ".experts");
    }

    @Override
    public int layers() {
        return layers.length;
    }

    @Override
    public int experts() {
        return experts;
    }

    @Override
    public boolean isMoe(int layer) {
        return layers[layer] != null;
    }

    @Override
    public Part[] parts(int layer, int expert) {
        LayerIndex li = layer >= 0 && layer < layers.length ? layers[layer] : null;
        if (li == null || expert < 0 || expert >= experts) {
            throw new IndexOutOfBoundsException("no expert " + expert + " in layer " + layer);
        }
        String[] which = {"gate", "up", "down"};
        Part[] p = new Part[3];
        long at = li.offset[expert];
        for (int k = 0; k < 3; k++) {
            p[k] = new Part("blk." + layer + ".ffn_" + which[k] + "_exps.weight[expert " + expert + "]", file, at,
                    li.bytes[k], li.types[k], li.cols[k], li.rows[k]);
            at += li.bytes[k];
        }
        return p;
    }

    /** The experts of {@code layer} in file order (most popular first when the repack had statistics). */
    public int[] order(int layer) {
        return layers[layer].order.clone();
    }

    // ---- writing

    /**
     * Writes the routed experts of {@code gguf}'s MoE layers ({@code isMoe[l]}, {@code experts} each) to
     * {@code out}, per layer in {@code stats}' popularity order (id order when null). Streams file to
     * file (no expert passes through the heap); writes a temporary file beside {@code out} and moves it
     * into place, so {@code out} is complete or absent. Never replaces an existing {@code out}.
     */
    public static void write(GgufFile gguf, boolean[] isMoe, int experts, ExpertStats stats, Path out)
            throws IOException {
        if (Files.exists(out)) {
            throw new FileAlreadyExistsException(out.toString(), null, "will not overwrite it");
        }
        if (stats != null && (stats.layers() != isMoe.length || stats.experts() != experts)) {
            throw new IllegalArgumentException("expert statistics are for " + stats.layers() + " layers x "
                    + stats.experts() + " experts, the model has " + isMoe.length + " x " + experts);
        }
        ExpertLayout src = ExpertLayout.gguf(gguf, isMoe, experts);
        int[][] order = new int[isMoe.length][];
        long[][] at = new long[isMoe.length][];     // each expert's offset from the start of the data
        int[][] slot = new int[isMoe.length][];     // where the index holds it
        ByteBuffer index = indexHeader(gguf, src, isMoe.length, experts);
        long end = 0;
        for (int l = 0; l < isMoe.length; l++) {
            index = room(index, 4);
            index.putInt(isMoe[l] ? 1 : 0);
            if (!isMoe[l]) {
                continue;
            }
            order[l] = stats != null ? stats.byPopularity(l) : identity(experts);
            at[l] = new long[experts];
            slot[l] = new int[experts];
            index = room(index, 3 * 28 + experts * 12L);
            for (Part q : src.parts(l, 0)) {
                index.putInt(q.type().id()).putLong(q.cols()).putLong(q.rows()).putLong(q.bytes());
            }
            long size = align(src.expertBytes(l));
            for (int e : order[l]) {
                at[l][e] = end;
                slot[l][e] = index.position() + 4;
                index.putInt(e).putLong(0);   // the offset, once the index length is known
                end += size;
            }
        }
        int indexLength = index.position();
        long data = align(indexLength + 4L);
        index.putInt(12, indexLength);
        for (int l = 0; l < isMoe.length; l++) {
            for (int e = 0; isMoe[l] && e < experts; e++) {
                index.putLong(slot[l][e], data + at[l][e]);
            }
        }
        CRC32 crc = new CRC32();
        crc.update(index.array(), 0, indexLength);
        index = room(index, 4);
        index.putInt((int) crc.getValue());
        index.flip();

        Path dir = out.toAbsolutePath().getParent();
        Path tmp = Files.createTempFile(dir, out.getFileName() + ".", ".tmp");
        try {
            try (FileChannel w = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
                write(w, index, 0);
                FileChannel[] parts = new FileChannel[gguf.files().size()];
                try {
                    for (int l = 0; l < isMoe.length; l++) {
                        if (!isMoe[l]) {
                            continue;
                        }
                        for (int e : order[l]) {
                            long to = data + at[l][e];
                            for (Part q : src.parts(l, e)) {
                                int part = gguf.files().indexOf(q.file());
                                if (parts[part] == null) {
                                    parts[part] = FileChannel.open(q.file(), StandardOpenOption.READ);
                                }
                                transfer(parts[part], q, w, to);
                                to += q.bytes();
                            }
                        }
                    }
                } finally {
                    for (FileChannel c : parts) {
                        if (c != null) {
                            c.close();
                        }
                    }
                }
                if (w.size() < data + end) {   // the last expert's padding: the file ends on a block boundary
                    write(w, ByteBuffer.allocate((int) (data + end - w.size())), w.size());
                }
                w.force(true);
            }
            try {
                Files.createLink(out, tmp);   // atomic, and fails if out appeared meanwhile (a rename would replace it)
            } catch (UnsupportedOperationException | FileSystemException e) {
                if (e instanceof FileAlreadyExistsException || Files.exists(out)) {
                    throw new FileAlreadyExistsException(out.toString(), null, "appeared while repacking; not replaced");
                }
                Files.move(tmp, out, StandardCopyOption.ATOMIC_MOVE);   // no hard links here
            }
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    private static void transfer(FileChannel from, Part q, FileChannel to, long at) throws IOException {
        long done = 0;
        while (done < q.bytes()) {
            to.position(at + done);
            long n = from.transferTo(q.offset() + done, q.bytes() - done, to);
            if (n <= 0) {
                throw new IOException(q.file() + ": short read of " + q.name() + " at offset " + (q.offset() + done));
            }
            done += n;
        }
    }

    private static void write(FileChannel ch, ByteBuffer b, long at) throws IOException {
        while (b.hasRemaining()) {
            at += ch.write(b, at);
        }
    }

    /** The fixed part of the index, up to and including the model name. */
    private static ByteBuffer indexHeader(GgufFile gguf, ExpertLayout src, int layers, int experts) throws IOException {
        byte[] name = gguf.files().getFirst().getFileName().toString().getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(4096 + name.length).order(ByteOrder.LITTLE_ENDIAN);
        b.put(MAGIC).putInt(VERSION).putInt(0).putLong(modelBytes(gguf)).put(headerHash(gguf)).put(sampleHash(gguf, src));
        b.putInt(layers).putInt(experts).putInt(ALIGN).putInt(name.length).put(name);
        return b;
    }

    private static ByteBuffer room(ByteBuffer b, long more) {
        if (b.remaining() >= more) {
            return b;
        }
        long size = Math.max(2L * b.capacity(), b.position() + more);
        if (size > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("expert index too large: " + size + " bytes");
        }
        ByteBuffer n = ByteBuffer.allocate((int) size).order(ByteOrder.LITTLE_ENDIAN);
        return n.put(b.flip());
    }

    private static int[] identity(int n) {
        int[] a = new int[n];
        Arrays.setAll(a, i -> i);
        return a;
    }

    static long align(long n) {
        return (n + ALIGN - 1) & -ALIGN;
    }

    /** Bytes of all the model's files. */
    private static long modelBytes(GgufFile gguf) throws IOException {
        long n = 0;
        for (Path p : gguf.files()) {
            n += Files.size(p);
        }
        return n;
    }

    /** SHA-256 over each part's header (magic, metadata, tensor-info table: everything before its data). */
    private static byte[] headerHash(GgufFile gguf) {
        MessageDigest md = sha256();
        for (int p = 0; p < gguf.partCount(); p++) {
            md.update(gguf.segment(p).asSlice(0, gguf.dataOffset(p)).asByteBuffer());
        }
        return md.digest();
    }

    /** SHA-256 over the first 4 KiB (at most) of each MoE layer's stacked gate, up and down tensors. */
    private static byte[] sampleHash(GgufFile gguf, ExpertLayout src) {
        MessageDigest md = sha256();
        for (int l = 0; l < src.layers(); l++) {
            for (int k = 0; src.isMoe(l) && k < 3; k++) {
                Part q = src.parts(l, 0)[k];
                int part = gguf.files().indexOf(q.file());
                md.update(gguf.segment(part).asSlice(q.offset(), Math.min(ALIGN, q.bytes())).asByteBuffer());
            }
        }
        return md.digest();
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    // ---- reading

    /**
     * Opens {@code file}, checking that it was repacked from {@code gguf} and covers the MoE layers
     * {@code isMoe} with {@code experts} experts each of the shapes the model's expert tensors have.
     *
     * @throws IOException naming both files and what differs, or where the index is truncated or corrupt
     */
    public static RepackedLayout open(Path file, GgufFile gguf, boolean[] isMoe, int experts) throws IOException {
        Path model = gguf.files().getFirst();
        ByteBuffer b;
        long size;
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            size = ch.size();
            ByteBuffer head = ByteBuffer.allocate(FIXED).order(ByteOrder.LITTLE_ENDIAN);
            read(ch, head, 0, file);
            byte[] magic = new byte[MAGIC.length];
            head.flip().get(magic);
            if (!Arrays.equals(magic, MAGIC)) {
                throw new IOException(file + ": not a trillium expert repack file (magic at offset 0 is "
                        + HexFormat.of().formatHex(magic) + ", expected \"TRLMEXPS\")");
            }
            int version = head.getInt();
            if (version != VERSION) {
                throw new IOException(file + ": repack format version " + version + " at offset 8; this build reads "
                        + VERSION + " (repack the model again)");
            }
            int length = head.getInt();
            if (length < FIXED || length + 4L > size) {
                throw new IOException(file + ": truncated index: its length at offset 12 is " + length
                        + " bytes + 4 of CRC, the file has " + size + " bytes");
            }
            b = ByteBuffer.allocate(length + 4).order(ByteOrder.LITTLE_ENDIAN);
            read(ch, b, 0, file);
            b.flip();
            CRC32 crc = new CRC32();
            crc.update(b.array(), 0, length);
            if ((int) crc.getValue() != b.getInt(length)) {
                throw new IOException(file + ": corrupt index: CRC-32 at offset " + length + " does not match bytes 0.."
                        + length);
            }
            b.limit(length).position(FIXED);
        }
        try {
            return parse(file, b, size, gguf, model, isMoe, experts);
        } catch (BufferUnderflowException e) {
            throw new IOException(file + ": corrupt index: ends early at offset " + b.position() + " of " + b.limit());
        }
    }

    private static RepackedLayout parse(Path file, ByteBuffer b, long size, GgufFile gguf, Path model, boolean[] isMoe,
                                        int experts) throws IOException {
        long modelBytes = b.getLong();
        byte[] hash = new byte[32];
        b.get(hash);
        byte[] sample = new byte[32];
        b.get(sample);
        int layers = b.getInt();
        int n = b.getInt();
        int align = b.getInt();
        byte[] name = new byte[checked(b, b.getInt(), file)];
        b.get(name);
        String from = new String(name, StandardCharsets.UTF_8);
        String whose = file + " (repacked from " + from + ") does not belong to " + model + ": ";
        if (modelBytes != modelBytes(gguf)) {
            throw new IOException(whose + "model size " + modelBytes + " bytes vs " + modelBytes(gguf));
        }
        if (!Arrays.equals(hash, headerHash(gguf))) {
            throw new IOException(whose + "the header (metadata and tensor table) hashes differ");
        }
        if (layers != isMoe.length || n != experts || align != ALIGN) {
            throw new IOException(whose + layers + " layers x " + n + " experts (alignment " + align + ") vs "
                    + isMoe.length + " x " + experts + " (alignment " + ALIGN + ")");
        }
        ExpertLayout want = ExpertLayout.gguf(gguf, isMoe, experts);
        LayerIndex[] index = new LayerIndex[layers];
        for (int l = 0; l < layers; l++) {
            boolean moe = b.getInt() == 1;
            if (moe != isMoe[l]) {
                throw new IOException(whose + "layer " + l + (moe ? " has" : " has no") + " routed experts in the repack");
            }
            if (!moe) {
                continue;
            }
            Part[] p = want.parts(l, 0);
            GgmlType[] types = new GgmlType[3];
            long[] cols = new long[3];
            long[] rows = new long[3];
            long[] bytes = new long[3];
            for (int k = 0; k < 3; k++) {
                int at = b.position();
                types[k] = GgmlType.byId(b.getInt());
                cols[k] = b.getLong();
                rows[k] = b.getLong();
                bytes[k] = b.getLong();
                if (types[k] != p[k].type() || cols[k] != p[k].cols() || rows[k] != p[k].rows() || bytes[k] != p[k].bytes()) {
                    throw new IOException(whose + "at offset " + at + ": " + p[k].name() + " is " + types[k] + " "
                            + cols[k] + "x" + rows[k] + " (" + bytes[k] + " bytes) in the repack, " + p[k].type() + " "
                            + p[k].cols() + "x" + p[k].rows() + " (" + p[k].bytes() + " bytes) in the model");
                }
            }
            long one = bytes[0] + bytes[1] + bytes[2];
            int[] order = new int[experts];
            long[] offset = new long[experts];
            Arrays.fill(offset, -1);
            for (int i = 0; i < experts; i++) {
                int at = b.position();
                int e = b.getInt();
                long off = b.getLong();
                if (e < 0 || e >= experts || offset[e] >= 0) {
                    throw new IOException(file + ": corrupt index at offset " + at + ": layer " + l + " lists expert "
                            + e + (e >= 0 && e < experts ? " twice" : ", not one of " + experts));
                }
                if (off % ALIGN != 0 || off < b.limit() + 4L) {
                    throw new IOException(file + ": corrupt index at offset " + at + ": expert " + e + " of layer " + l
                            + " at " + off + ", not a " + ALIGN + "-aligned offset past the index");
                }
                if (off + one > size) {
                    throw new IOException(file + ": truncated: expert " + e + " of layer " + l + " spans " + off + ".."
                            + (off + one) + " but the file has " + size + " bytes");
                }
                order[i] = e;
                offset[e] = off;
            }
            index[l] = new LayerIndex(types, cols, rows, bytes, order, offset);
        }
        if (b.hasRemaining()) {
            throw new IOException(file + ": corrupt index: " + b.remaining() + " unread bytes at offset " + b.position());
        }
        if (!Arrays.equals(sample, sampleHash(gguf, want))) {
            throw new IOException(whose + "same header, but the expert tensors' first bytes differ (another model "
                    + "of the same shape)");
        }
        return new RepackedLayout(file, experts, index);
    }

    private static int checked(ByteBuffer b, int n, Path file) throws IOException {
        if (n < 0 || n > b.remaining()) {
            throw new IOException(file + ": corrupt index at offset " + (b.position() - 4) + ": name of " + n + " bytes");
        }
        return n;
    }

    private static void read(FileChannel ch, ByteBuffer b, long at, Path file) throws IOException {
        while (b.hasRemaining()) {
            int n = ch.read(b, at + b.position());
            if (n < 0) {
                throw new IOException(file + ": truncated: " + (at + b.position()) + " bytes, expected at least "
                        + (at + b.limit()));
            }
        }
    }
}
