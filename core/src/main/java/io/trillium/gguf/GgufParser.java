package io.trillium.gguf;

import io.trillium.quant.GgmlType;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Parses the header (metadata and tensor infos) of one GGUF file through its mapped segment.
 * Every count and length is checked against the bytes left BEFORE anything is allocated, so a
 * hostile file can make it allocate no more than about its own size. Tensor data is never read.
 */
final class GgufParser {
    static final int MAGIC = 0x46554747; // "GGUF" read little-endian
    static final int DEFAULT_ALIGNMENT = 32;
    static final int MAX_DIMS = 4;
    static final int MAX_ARRAY_DEPTH = 8;
    static final int MAX_KEY_BYTES = 65535;
    static final int MAX_NAME_BYTES = 65535;
    /** Caps what one metadata array may allocate (Kimi's vocabulary: 163840 entries). */
    static final int MAX_ARRAY_LENGTH = 1 << 26;
    /** Caps all metadata arrays together, so a huge hostile file cannot make us allocate gigabytes. */
    static final long MAX_ARRAY_ELEMENTS = 1L << 27;
    /** Kimi K2 has 1096 tensors per model; a million is a generous bound. */
    static final long MAX_TENSORS = 1 << 20;
    static final String ALIGNMENT_KEY = "general.alignment";

    private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfDouble F64 = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** One parsed file: header contents and where its data section starts. */
    record Part(Path path, MemorySegment segment, int version, Map<String, GgufValue> metadata,
                List<GgufTensorInfo> tensors, int alignment, long dataOffset) {
    }

    private final Path path;
    private final MemorySegment seg;
    private final long size;
    private long pos;
    private long elementBudget = MAX_ARRAY_ELEMENTS;

    private GgufParser(Path path, MemorySegment seg) {
        this.path = path;
        this.seg = seg;
        this.size = seg.byteSize();
    }

    /** Parses the file mapped in {@code seg}; {@code part} is its split index. */
    static Part parse(Path path, MemorySegment seg, int part) {
        return new GgufParser(path, seg).parse(part);
    }

    private GgufFormatException error(long at, String message) {
        return new GgufFormatException(path, at, message);
    }

    private Part parse(int part) {
        if (size < 4) {
            throw error(0, "not a GGUF file: " + size + " bytes, expected at least a 24-byte header");
        }
        int magic = seg.get(U32, 0);
        if (magic != MAGIC) {
            throw error(0, "not a GGUF file: expected magic 'GGUF' (47 47 55 46), found "
                    + String.format("%02x %02x %02x %02x", magic & 0xFF, (magic >> 8) & 0xFF,
                    (magic >> 16) & 0xFF, (magic >>> 24)));
        }
        pos = 4;
        long version = u32("version");
        if (version == 1) {
            throw error(4, "GGUF version 1 is not supported (expected 2 or 3): re-convert the model");
        }
        if (version != 2 && version != 3) {
            String hint = Integer.reverseBytes((int) version) == 3 || Integer.reverseBytes((int) version) == 2
                    ? " (a big-endian GGUF: only little-endian files are supported)" : "";
            throw error(4, "unsupported GGUF version " + version + ", expected 2 or 3" + hint);
        }
        long tensorCount = count("tensor count", 8 + 4 + 8 + 4 + 8); // name len, n_dims, ne0, type, offset
        long kvCount = count("metadata count", 8 + 4 + 1);           // key len, type, smallest value

        Map<String, GgufValue> metadata = new LinkedHashMap<>();
        long alignmentAt = -1;
        for (long i = 0; i < kvCount; i++) {
            long keyAt = pos;
            String key = string("metadata key " + i, MAX_KEY_BYTES);
            if (key.isEmpty()) {
                throw error(keyAt, "metadata key " + i + " is empty");
            }
            if (metadata.containsKey(key)) {
                throw error(keyAt, "duplicate metadata key '" + key + "'");
            }
            GgufValueType type = valueType("value type of '" + key + "'");
            if (key.equals(ALIGNMENT_KEY)) {
                alignmentAt = pos;
            }
            metadata.put(key, new GgufValue(type, value(type, key, 0)));
        }

        int alignment = DEFAULT_ALIGNMENT;
        GgufValue a = metadata.get(ALIGNMENT_KEY);
        if (a != null) {
            long v = a.type().isInteger() ? ((Number) a.value()).longValue() : -1;
            if (v <= 0 || v > (1 << 30) || Long.bitCount(v) != 1) {
                throw error(alignmentAt, ALIGNMENT_KEY + " is " + a + ", expected a power of two (usually UINT32 32)");
            }
            alignment = (int) v;
        }

        List<GgufTensorInfo> tensors = new ArrayList<>((int) Math.min(tensorCount, 1 << 16));
        if (tensorCount > MAX_TENSORS) {
            throw error(8, "tensor count " + tensorCount + ", expected at most " + MAX_TENSORS);
        }
        long[] infoAt = new long[(int) tensorCount];
        Set<String> names = new HashSet<>();
        for (int i = 0; i < tensorCount; i++) {
            long at = pos;
            infoAt[i] = at;
            String name = string("name of tensor " + i, MAX_NAME_BYTES);
            if (!names.add(name)) {
                throw error(at, "duplicate tensor name '" + name + "'");
            }
            long dimsAt = pos;
            long nDims = u32("dims count of '" + name + "'");
            if (nDims < 1 || nDims > MAX_DIMS) {
                throw error(dimsAt, "tensor '" + name + "' has " + nDims + " dims, expected 1 to " + MAX_DIMS);
            }
            long[] shape = new long[(int) nDims];
            long elements = 1;
            for (int d = 0; d < nDims; d++) {
                long dAt = pos;
                shape[d] = u64("dim " + d + " of '" + name + "'");
                if (shape[d] < 0) {
                    throw error(dAt, "tensor '" + name + "' dim " + d + " = " + Long.toUnsignedString(shape[d])
                            + ", expected below 2^63");
                }
                try {
                    elements = Math.multiplyExact(elements, shape[d]);
                } catch (ArithmeticException e) {
                    throw error(dAt, "tensor '" + name + "' dims " + Arrays.toString(Arrays.copyOf(shape, d + 1))
                            + ": element count overflows 64 bits");
                }
            }
            long typeAt = pos;
            long typeId = u32("type of '" + name + "'");
            GgmlType type = typeId <= Integer.MAX_VALUE ? GgmlType.byId((int) typeId) : null;
            if (type == null) {
                throw error(typeAt, "tensor '" + name + "' has unknown ggml type id " + typeId);
            }
            if (shape[0] % type.blockSize() != 0) {
                throw error(dimsAt, "tensor '" + name + "' " + type + " " + Arrays.toString(shape) + ": ne0 = "
                        + shape[0] + " is not a multiple of the block size " + type.blockSize());
            }
            long bytes;
            try {
                bytes = type.bytesFor(elements);
            } catch (ArithmeticException e) {
                throw error(dimsAt, "tensor '" + name + "' " + type + " " + Arrays.toString(shape)
                        + ": byte size overflows 64 bits");
            }
            long offAt = pos;
            long offset = u64("data offset of '" + name + "'");
            if (offset < 0 || offset % alignment != 0) {
                throw error(offAt, "tensor '" + name + "' data offset " + Long.toUnsignedString(offset)
                        + " is not a multiple of the alignment " + alignment);
            }
            tensors.add(new GgufTensorInfo(name, type, shape, part, offset, bytes, -1));
        }

        long dataOffset = align(pos, alignment);
        long dataSize = Math.max(0, size - dataOffset);
        for (int i = 0; i < tensors.size(); i++) {
            GgufTensorInfo t = tensors.get(i);
            if (dataOffset > size || t.offset() > dataSize || t.byteSize() > dataSize - t.offset()) {
                throw error(infoAt[i], "tensor '" + t.name() + "' data [" + t.offset() + ", +" + t.byteSize()
                        + ") lies outside the data section (" + dataSize + " bytes from " + dataOffset
                        + "): expected it inside the file (truncated?)");
            }
            tensors.set(i, new GgufTensorInfo(t.name(), t.type(), t.shape(), part, t.offset(), t.byteSize(),
                    dataOffset + t.offset()));
        }
        checkOverlaps(tensors, infoAt);
        return new Part(path, seg, (int) version, metadata, List.copyOf(tensors), alignment, dataOffset);
    }

    private void checkOverlaps(List<GgufTensorInfo> tensors, long[] infoAt) {
        Integer[] order = new Integer[tensors.size()];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        Arrays.sort(order, Comparator.comparingLong(i -> tensors.get(i).offset()));
        for (int k = 1; k < order.length; k++) {
            GgufTensorInfo prev = tensors.get(order[k - 1]), t = tensors.get(order[k]);
            if (t.offset() < prev.offset() + prev.byteSize()) {
                throw error(infoAt[order[k]], "tensor '" + t.name() + "' data at " + t.offset()
                        + " overlaps tensor '" + prev.name() + "' [" + prev.offset() + ", "
                        + (prev.offset() + prev.byteSize()) + "): expected disjoint tensor data");
            }
        }
    }

    static long align(long x, int alignment) {
        return (x + alignment - 1) / alignment * alignment;
    }

    // ---- values

    private Object value(GgufValueType type, String key, int depth) {
        return switch (type) {
            case UINT8 -> { need(1, key); yield seg.get(ValueLayout.JAVA_BYTE, pos++) & 0xFF; }
            case INT8 -> { need(1, key); yield (int) seg.get(ValueLayout.JAVA_BYTE, pos++); }
            case UINT16 -> { need(2, key); int v = seg.get(U16, pos) & 0xFFFF; pos += 2; yield v; }
            case INT16 -> { need(2, key); int v = seg.get(U16, pos); pos += 2; yield v; }
            case UINT32 -> u32(key);
            case INT32 -> { need(4, key); int v = seg.get(U32, pos); pos += 4; yield v; }
            case UINT64, INT64 -> u64(key);
            case FLOAT32 -> { need(4, key); float v = seg.get(F32, pos); pos += 4; yield v; }
            case FLOAT64 -> { need(8, key); double v = seg.get(F64, pos); pos += 8; yield v; }
            case BOOL -> bool(key);
            case STRING -> string(key, Long.MAX_VALUE);
            case ARRAY -> array(key, depth + 1);
        };
    }

    private boolean bool(String key) {
        need(1, key);
        int b = seg.get(ValueLayout.JAVA_BYTE, pos);
        if (b != 0 && b != 1) {
            throw error(pos, key + ": bool byte is " + b + ", expected 0 or 1");
        }
        pos++;
        return b == 1;
    }

    private GgufArray array(String key, int depth) {
        long at = pos;
        if (depth > MAX_ARRAY_DEPTH) {
            throw error(at, key + ": arrays nested " + depth + " deep, expected at most " + MAX_ARRAY_DEPTH);
        }
        GgufValueType et = valueType(key + ": array element type");
        int n = (int) count(key + ": array length", et.minBytes());
        if (n > MAX_ARRAY_LENGTH) {
            throw error(at + 4, key + ": array length " + n + ", expected at most " + MAX_ARRAY_LENGTH);
        }
        elementBudget -= n;
        if (elementBudget < 0) {
            throw error(at + 4, key + ": the metadata arrays hold more than " + MAX_ARRAY_ELEMENTS
                    + " elements in all, expected a model header");
        }
        long bytes = (long) n * et.minBytes();
        switch (et) {
            case UINT8, INT8, UINT16, INT16 -> {
                int[] v = new int[n];
                for (int i = 0; i < n; i++) {
                    v[i] = switch (et) {
                        case UINT8 -> seg.get(ValueLayout.JAVA_BYTE, pos + i) & 0xFF;
                        case INT8 -> seg.get(ValueLayout.JAVA_BYTE, pos + i);
                        case UINT16 -> seg.get(U16, pos + 2L * i) & 0xFFFF;
                        default -> seg.get(U16, pos + 2L * i);
                    };
                }
                pos += bytes;
                return new GgufArray(et, v);
            }
            case INT32 -> {
                int[] v = new int[n];
                MemorySegment.copy(seg, U32, pos, v, 0, n);
                pos += bytes;
                return new GgufArray(et, v);
            }
            case UINT32 -> {
                long[] v = new long[n];
                for (int i = 0; i < n; i++) {
                    v[i] = seg.get(U32, pos + 4L * i) & 0xFFFF_FFFFL;
                }
                pos += bytes;
                return new GgufArray(et, v);
            }
            case UINT64, INT64 -> {
                long[] v = new long[n];
                MemorySegment.copy(seg, U64, pos, v, 0, n);
                pos += bytes;
                return new GgufArray(et, v);
            }
            case FLOAT32 -> {
                float[] v = new float[n];
                MemorySegment.copy(seg, F32, pos, v, 0, n);
                pos += bytes;
                return new GgufArray(et, v);
            }
            case FLOAT64 -> {
                double[] v = new double[n];
                MemorySegment.copy(seg, F64, pos, v, 0, n);
                pos += bytes;
                return new GgufArray(et, v);
            }
            case BOOL -> {
                boolean[] v = new boolean[n];
                for (int i = 0; i < n; i++) {
                    v[i] = bool(key);
                }
                return new GgufArray(et, v);
            }
            case STRING -> {
                String[] v = new String[n];
                for (int i = 0; i < n; i++) {
                    v[i] = string(key, Long.MAX_VALUE);
                }
                return new GgufArray(et, java.util.Collections.unmodifiableList(Arrays.asList(v)));
            }
            case ARRAY -> {
                GgufArray[] v = new GgufArray[n];
                for (int i = 0; i < n; i++) {
                    v[i] = array(key, depth + 1);
                }
                return new GgufArray(et, java.util.Collections.unmodifiableList(Arrays.asList(v)));
            }
        }
        throw new AssertionError(et);
    }

    private GgufValueType valueType(String what) {
        long at = pos;
        long id = u32(what);
        GgufValueType t = GgufValueType.byId(id);
        if (t == null) {
            throw error(at, what + ": unknown metadata value type " + id + ", expected 0 to 12");
        }
        return t;
    }

    // ---- primitives, each checked against the end of the file

    private void need(long n, String what) {
        if (n > size - pos) {
            throw error(pos, what + ": needs " + n + " bytes, only " + (size - pos) + " left (truncated file?)");
        }
    }

    private long u32(String what) {
        need(4, what);
        long v = seg.get(U32, pos) & 0xFFFF_FFFFL;
        pos += 4;
        return v;
    }

    private long u64(String what) {
        need(8, what);
        long v = seg.get(U64, pos);
        pos += 8;
        return v;
    }

    /** A u64 count of items of at least {@code minBytes} each: must fit in the rest of the file. */
    private long count(String what, int minBytes) {
        long at = pos;
        long n = u64(what);
        long fit = (size - pos) / minBytes;
        if (n < 0 || n > fit || n > Integer.MAX_VALUE - 8) {
            throw error(at, what + " is " + Long.toUnsignedString(n) + ", but only " + fit
                    + " can fit in the " + (size - pos) + " bytes left");
        }
        return n;
    }

    private String string(String what, long maxBytes) {
        long at = pos;
        long len = u64(what + " length");
        if (len < 0 || len > size - pos || len > Integer.MAX_VALUE - 8) {
            throw error(at, what + ": string length " + Long.toUnsignedString(len) + " runs past the end of the file ("
                    + (size - pos) + " bytes left)");
        }
        if (len > maxBytes) {
            throw error(at, what + ": string length " + len + ", expected at most " + maxBytes);
        }
        byte[] b = new byte[(int) len];
        MemorySegment.copy(seg, ValueLayout.JAVA_BYTE, pos, b, 0, (int) len);
        pos += len;
        return new String(b, StandardCharsets.UTF_8);
    }
}
