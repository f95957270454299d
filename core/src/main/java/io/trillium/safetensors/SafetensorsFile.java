package io.trillium.safetensors;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.CharBuffer;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One memory-mapped safetensors file: {@code u64 LE header length N}, N bytes of UTF-8 JSON
 * ({@code name -> {dtype, shape, data_offsets}} plus an optional {@code __metadata__} string map), then
 * the data. Validated as the reference implementation does: the header fits the file and {@link
 * #MAX_HEADER} bytes, names are unique and valid UTF-8, every range matches its dtype and shape, and the
 * ranges tile the data exactly (no gap, overlap or trailing bytes). Views are zero-copy slices of the
 * mapping, valid while its arena is open.
 */
public final class SafetensorsFile {
    /** Largest accepted header (the reference implementation's limit). */
    public static final long MAX_HEADER = 100_000_000L;

    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);

    private final Path path;
    private final MemorySegment segment;
    private final Map<String, SafetensorsTensorInfo> tensors;
    private final Map<String, String> metadata;

    private SafetensorsFile(Path path, MemorySegment segment, Map<String, SafetensorsTensorInfo> tensors,
                            Map<String, String> metadata) {
        this.path = path;
        this.segment = segment;
        this.tensors = tensors;
        this.metadata = metadata;
    }

    /**
     * Maps and validates {@code path} into {@code arena} (which owns the mapping).
     *
     * @throws SafetensorsFormatException naming the file, offset and expectation for any malformed header
     */
    public static SafetensorsFile open(Path path, Arena arena) throws IOException {
        MemorySegment seg;
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            seg = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), arena);
        }
        return parse(path, seg);
    }

    /** Validates a safetensors image already in memory ({@code seg}: the whole file). */
    public static SafetensorsFile parse(Path path, MemorySegment seg) {
        long size = seg.byteSize();
        if (size < 8) {
            throw new SafetensorsFormatException(path, 0, "file of " + size + " bytes: expected at least the 8-byte header length");
        }
        long n = seg.get(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0);
        if (n < 2 || n > MAX_HEADER) {
            throw new SafetensorsFormatException(path, 0, "header length " + Long.toUnsignedString(n)
                    + ": expected 2 to " + MAX_HEADER + " bytes");
        }
        if (n > size - 8) {
            throw new SafetensorsFormatException(path, 0, "header length " + n + " runs past the end of the "
                    + size + "-byte file (expected at most " + (size - 8) + ")");
        }
        byte[] header = seg.asSlice(8, n).toArray(ValueLayout.JAVA_BYTE);
        ByteBuffer in = ByteBuffer.wrap(header);
        CharBuffer out = CharBuffer.allocate(header.length);
        CoderResult r = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT).decode(in, out, true);
        if (r.isError()) {
            throw new SafetensorsFormatException(path, 8 + in.position(),
                    "header is not valid UTF-8 (tensor names must be UTF-8)");
        }
        String text = out.flip().toString();
        JsonNode root;
        try {
            root = JSON.readTree(text);
        } catch (JsonProcessingException e) {
            long at = e.getLocation() == null ? -1 : 8 + e.getLocation().getCharOffset();
            throw new SafetensorsFormatException(path, at, "header is not valid JSON (or repeats a name): "
                    + e.getOriginalMessage(), e);
        }
        if (root == null || !root.isObject()) {
            throw new SafetensorsFormatException(path, 8, "header must be a JSON object of tensors");
        }
        long dataStart = 8 + n;
        long dataLen = size - dataStart;
        Map<String, SafetensorsTensorInfo> tensors = new LinkedHashMap<>();
        Map<String, String> metadata = new LinkedHashMap<>();
        List<long[]> ranges = new ArrayList<>();
        List<String> rangeNames = new ArrayList<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            String name = e.getKey();
            JsonNode v = e.getValue();
            if (name.equals("__metadata__")) {
                if (!v.isObject()) {
                    throw new SafetensorsFormatException(path, 8, "__metadata__ must be an object of strings");
                }
                for (Iterator<Map.Entry<String, JsonNode>> m = v.fields(); m.hasNext(); ) {
                    Map.Entry<String, JsonNode> kv = m.next();
                    if (!kv.getValue().isTextual()) {
                        throw new SafetensorsFormatException(path, 8, "__metadata__." + kv.getKey() + " is "
                                + kv.getValue().getNodeType() + ", expected a string");
                    }
                    metadata.put(kv.getKey(), kv.getValue().textValue());
                }
                continue;
            }
            SafetensorsTensorInfo t = entry(path, name, v, dataStart, dataLen);
            tensors.put(name, t);
            ranges.add(new long[] {t.fileOffset() - dataStart, t.fileOffset() - dataStart + t.byteSize()});
            rangeNames.add(name);
        }
        checkTiling(path, ranges, rangeNames, dataStart, dataLen);
        return new SafetensorsFile(path, seg, Collections.unmodifiableMap(tensors), Collections.unmodifiableMap(metadata));
    }

    private static SafetensorsTensorInfo entry(Path path, String name, JsonNode v, long dataStart, long dataLen) {
        String what = "tensor '" + name + "'";
        if (!v.isObject()) {
            throw new SafetensorsFormatException(path, 8, what + ": expected {dtype, shape, data_offsets}");
        }
        JsonNode dt = v.get("dtype");
        Dtype dtype = dt != null && dt.isTextual() ? Dtype.parse(dt.textValue()) : null;
        if (dtype == null) {
            throw new SafetensorsFormatException(path, 8, what + ": dtype " + dt + " is not one of "
                    + java.util.Arrays.toString(Dtype.values()));
        }
        JsonNode sh = v.get("shape");
        if (sh == null || !sh.isArray() || sh.size() > 8) {
            throw new SafetensorsFormatException(path, 8, what + ": shape " + sh + ", expected an array of up to 8 dims");
        }
        long[] shape = new long[sh.size()];
        long count = 1;
        for (int i = 0; i < shape.length; i++) {
            JsonNode d = sh.get(i);
            if (!d.canConvertToLong() || !d.isIntegralNumber() || d.longValue() < 0) {
                throw new SafetensorsFormatException(path, 8, what + ": dim " + i + " = " + d + ", expected an integer >= 0");
            }
            shape[i] = d.longValue();
            try {
                count = Math.multiplyExact(count, shape[i]);
            } catch (ArithmeticException e) {
                throw new SafetensorsFormatException(path, 8, what + ": shape " + sh + " overflows");
            }
        }
        JsonNode off = v.get("data_offsets");
        if (off == null || !off.isArray() || off.size() != 2 || !off.get(0).isIntegralNumber()
                || !off.get(1).isIntegralNumber() || !off.get(0).canConvertToLong() || !off.get(1).canConvertToLong()) {
            throw new SafetensorsFormatException(path, 8, what + ": data_offsets " + off + ", expected [begin, end]");
        }
        long begin = off.get(0).longValue();
        long end = off.get(1).longValue();
        if (begin < 0 || end < begin) {
            throw new SafetensorsFormatException(path, 8, what + ": data_offsets [" + begin + ", " + end
                    + "] are not an ordered range (expected 0 <= begin <= end)");
        }
        if (end > dataLen) {
            throw new SafetensorsFormatException(path, dataStart + begin, what + ": data_offsets [" + begin + ", " + end
                    + "] run outside the " + dataLen + " data bytes");
        }
        long bytes;
        try {
            bytes = dtype.bytesFor(count);
        } catch (ArithmeticException e) {
            bytes = -2;
        }
        if (bytes != end - begin) {
            throw new SafetensorsFormatException(path, dataStart + begin, what + ": " + dtype + " "
                    + java.util.Arrays.toString(shape) + " needs " + (bytes < 0 ? "a whole number of" : bytes)
                    + " bytes, data_offsets give " + (end - begin));
        }
        return new SafetensorsTensorInfo(name, dtype, shape, path, dataStart + begin, end - begin);
    }

    /** The ranges, in offset order, must cover [0, dataLen) exactly once. */
    private static void checkTiling(Path path, List<long[]> ranges, List<String> names, long dataStart, long dataLen) {
        Integer[] order = new Integer[ranges.size()];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        java.util.Arrays.sort(order, Comparator.<Integer>comparingLong(i -> ranges.get(i)[0])
                .thenComparingLong(i -> ranges.get(i)[1]));
        long at = 0;
        String prev = null;
        for (int i : order) {
            long[] r = ranges.get(i);
            if (r[0] < at) {
                throw new SafetensorsFormatException(path, dataStart + r[0], "tensor '" + names.get(i) + "' [" + r[0]
                        + ", " + r[1] + ") overlaps '" + prev + "', which ends at " + at);
            }
            if (r[0] > at) {
                throw new SafetensorsFormatException(path, dataStart + at, "gap of " + (r[0] - at) + " bytes before tensor '"
                        + names.get(i) + "': expected the data ranges to tile the buffer");
            }
            at = r[1];
            prev = names.get(i);
        }
        if (at != dataLen) {
            throw new SafetensorsFormatException(path, dataStart + at, (dataLen - at)
                    + " bytes after the last tensor: expected the data ranges to end at the end of the file");
        }
    }

    public Path path() {
        return path;
    }

    /** Tensors by name, in header order. */
    public Map<String, SafetensorsTensorInfo> tensors() {
        return tensors;
    }

    /** The {@code __metadata__} strings. */
    public Map<String, String> metadata() {
        return metadata;
    }

    /** A zero-copy view of {@code t}'s bytes (a tensor of this file). */
    public MemorySegment data(SafetensorsTensorInfo t) {
        return segment.asSlice(t.fileOffset(), t.byteSize());
    }
}
