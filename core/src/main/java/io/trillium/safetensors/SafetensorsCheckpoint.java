package io.trillium.safetensors;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.trillium.quant.GgmlType;
import io.trillium.quant.Tensor;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * The safetensors files of a Hugging Face checkpoint, opened as one: the shards named by
 * {@code model.safetensors.index.json} (each entry checked against its shard), else
 * {@code model.safetensors}, else every {@code *.safetensors} of the directory. All are mapped into one
 * shared arena; views stay valid until {@link #close()}.
 *
 * <p>{@link #tensor} turns an entry into a ggml-ordered {@link Tensor} (dims reversed: ne0 is the last
 * safetensors dim). A quantized Linear {@code X.weight} is found through its companions: compressed-tensors
 * INT4 ({@code X.weight_packed} I32 [out, in/8] + {@code X.weight_scale} BF16 [out, in/32] +
 * {@code X.weight_shape}) becomes {@link GgmlType#CT_INT4}; FP8 ({@code X.weight} F8_E4M3 +
 * {@code X.weight_scale_inv} F32 [⌈out/128⌉, ⌈in/128⌉]) becomes {@link GgmlType#F8_E4M3_B128}.
 */
public final class SafetensorsCheckpoint implements AutoCloseable {
    public static final String INDEX = "model.safetensors.index.json";

    private final Path dir;
    private final Arena arena;
    private final List<SafetensorsFile> files;
    private final Map<String, SafetensorsFile> byName;
    private boolean closed;

    private SafetensorsCheckpoint(Path dir, Arena arena, List<SafetensorsFile> files, Map<String, SafetensorsFile> byName) {
        this.dir = dir;
        this.arena = arena;
        this.files = List.copyOf(files);
        this.byName = byName;
    }

    /** Whether {@code path} looks like a checkpoint: a directory with safetensors, or one .safetensors file. */
    public static boolean isCheckpoint(Path path) {
        if (Files.isDirectory(path)) {
            if (Files.exists(path.resolve(INDEX))) {
                return true;
            }
            try (Stream<Path> s = Files.list(path)) {
                return s.anyMatch(p -> p.getFileName().toString().endsWith(".safetensors"));
            } catch (IOException e) {
                return false;
            }
        }
        return path.getFileName() != null && path.getFileName().toString().endsWith(".safetensors");
    }

    /** Opens the checkpoint in directory {@code path} (or the single file {@code path}). */
    public static SafetensorsCheckpoint open(Path path) throws IOException {
        Arena arena = Arena.ofShared();
        try {
            return open(path, arena);
        } catch (Throwable t) {
            arena.close();
            throw t;
        }
    }

    private static SafetensorsCheckpoint open(Path path, Arena arena) throws IOException {
        Path dir = Files.isDirectory(path) ? path : path.toAbsolutePath().getParent();
        List<SafetensorsFile> files = new ArrayList<>();
        Map<String, SafetensorsFile> byName = new LinkedHashMap<>();
        Path index = dir.resolve(INDEX);
        if (Files.isDirectory(path) && Files.exists(index)) {
            Map<String, String> weightMap = readIndex(index);
            Map<String, SafetensorsFile> shards = new TreeMap<>();
            for (String shard : new java.util.TreeSet<>(weightMap.values())) {
                Path p = dir.resolve(shard).normalize();
                if (!p.startsWith(dir.normalize()) || !Files.isRegularFile(p)) {
                    throw new SafetensorsFormatException(index, -1, "weight_map names shard '" + shard
                            + "', expected a file beside the index (" + p + " is missing)");
                }
                SafetensorsFile f = SafetensorsFile.open(p, arena);
                shards.put(shard, f);
                files.add(f);
            }
            for (Map.Entry<String, String> e : weightMap.entrySet()) {
                SafetensorsFile f = shards.get(e.getValue());
                if (!f.tensors().containsKey(e.getKey())) {
                    throw new SafetensorsFormatException(index, -1, "weight_map puts tensor '" + e.getKey()
                            + "' in " + e.getValue() + ", which does not hold it");
                }
                byName.put(e.getKey(), f);
            }
            for (SafetensorsFile f : files) {
                for (String name : f.tensors().keySet()) {
                    if (byName.get(name) != f) {
                        throw new SafetensorsFormatException(f.path(), -1, "tensor '" + name + "' is not in "
                                + INDEX + (byName.containsKey(name) ? " for this shard (it names "
                                + byName.get(name).path().getFileName() + ")" : ""));
                    }
                }
            }
        } else {
            List<Path> paths;
            if (Files.isDirectory(path)) {
                try (Stream<Path> s = Files.list(path)) {
                    paths = s.filter(p -> p.getFileName().toString().endsWith(".safetensors")).sorted().toList();
                }
                if (paths.isEmpty()) {
                    throw new SafetensorsFormatException(path, -1, "no " + INDEX + " and no *.safetensors file");
                }
            } else {
                paths = List.of(path);
            }
            for (Path p : paths) {
                SafetensorsFile f = SafetensorsFile.open(p, arena);
                files.add(f);
                for (String name : f.tensors().keySet()) {
                    SafetensorsFile dup = byName.putIfAbsent(name, f);
                    if (dup != null) {
                        throw new SafetensorsFormatException(p, -1, "tensor '" + name + "' is also in "
                                + dup.path().getFileName() + ": expected unique tensor names");
                    }
                }
            }
        }
        return new SafetensorsCheckpoint(dir, arena, files, byName);
    }

    private static Map<String, String> readIndex(Path index) throws IOException {
        JsonNode root;
        try {
            root = new ObjectMapper().enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION).readTree(index.toFile());
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new SafetensorsFormatException(index, -1, "not valid JSON: " + e.getOriginalMessage(), e);
        }
        JsonNode wm = root == null ? null : root.get("weight_map");
        if (wm == null || !wm.isObject()) {
            throw new SafetensorsFormatException(index, -1, "expected an object with a \"weight_map\" of tensor -> shard file");
        }
        Map<String, String> m = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = wm.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (!e.getValue().isTextual()) {
                throw new SafetensorsFormatException(index, -1, "weight_map['" + e.getKey() + "'] is not a file name");
            }
            m.put(e.getKey(), e.getValue().textValue());
        }
        return m;
    }

    /** The checkpoint's directory. */
    public Path directory() {
        return dir;
    }

    /** The safetensors files, in shard order. */
    public List<SafetensorsFile> files() {
        return files;
    }

    /** Every entry's name, shard by shard. */
    public java.util.Set<String> names() {
        return Collections.unmodifiableSet(byName.keySet());
    }

    public boolean has(String name) {
        return byName.containsKey(name);
    }

    /** The header entry {@code name}; throws naming the checkpoint if there is none. */
    public SafetensorsTensorInfo info(String name) {
        SafetensorsFile f = byName.get(name);
        if (f == null) {
            throw new SafetensorsFormatException(dir, -1, "no tensor named '" + name + "'");
        }
        return f.tensors().get(name);
    }

    /** The raw bytes of entry {@code name} (zero-copy). */
    public MemorySegment data(String name) {
        info(name);
        SafetensorsFile f = byName.get(name);
        return f.data(f.tensors().get(name));
    }

    /** Whether {@code name} exists as a tensor, directly or as a quantized Linear's companions. */
    public boolean hasTensor(String name) {
        return has(name) || (name.endsWith(".weight") && has(name + "_packed"));
    }

    /**
     * Entry {@code name} as a ggml-ordered tensor view: plain float/int dtypes as they are, a quantized
     * Linear weight with its scales (see the class comment).
     */
    public Tensor tensor(String name) {
        if (!has(name) && name.endsWith(".weight") && has(name + "_packed")) {
            return int4(name);
        }
        SafetensorsTensorInfo t = info(name);
        long[] dims = reversed(t.shape());
        if (t.dtype() == Dtype.F8_E4M3) {
            String s = name + "_scale_inv";
            if (!has(s) || t.rank() != 2) {
                throw error(t, "an F8_E4M3 tensor needs 2 dims and its F32 companion " + s);
            }
            SafetensorsTensorInfo si = info(s);
            long[] want = {(t.shape()[0] + 127) / 128, (t.shape()[1] + 127) / 128};
            if (si.dtype() != Dtype.F32 || !Arrays.equals(si.shape(), want)) {
                throw error(si, "expected F32 " + Arrays.toString(want) + " (one scale per 128x128 block of "
                        + Arrays.toString(t.shape()) + ")");
            }
            return new Tensor(name, GgmlType.F8_E4M3_B128, dims, data(name), data(s));
        }
        GgmlType g = t.dtype().ggml();
        if (g == null) {
            throw error(t, "dtype " + t.dtype() + " has no compute type (supported: F32, F16, BF16, F64, I8-I64, "
                    + "F8_E4M3 with weight_scale_inv, INT4 weight_packed)");
        }
        if (dims.length == 0) {
            dims = new long[] {1};
        }
        if (dims.length > 4) {
            throw error(t, "more than 4 dims");
        }
        return new Tensor(name, g, dims, data(name));
    }

    private Tensor int4(String name) {
        SafetensorsTensorInfo p = info(name + "_packed");
        SafetensorsTensorInfo s = info(name + "_scale");
        if (p.dtype() != Dtype.I32 || p.rank() != 2) {
            throw error(p, "expected I32 [out, in/8] packed INT4 words");
        }
        long out = p.shape()[0];
        long in = p.shape()[1] * 8;
        if (has(name + "_shape")) {
            SafetensorsTensorInfo sh = info(name + "_shape");
            MemorySegment d = data(name + "_shape");
            if (sh.elementCount() != 2 || (sh.dtype() != Dtype.I32 && sh.dtype() != Dtype.I64)) {
                throw error(sh, "expected 2 integers (out, in)");
            }
            long o = sh.dtype() == Dtype.I32 ? d.get(LE_INT, 0) : d.get(LE_LONG, 0);
            long i = sh.dtype() == Dtype.I32 ? d.get(LE_INT, 4) : d.get(LE_LONG, 8);
            if (o != out || i != in) {
                throw error(sh, "weight_shape (" + o + ", " + i + ") disagrees with the packed words "
                        + Arrays.toString(p.shape()) + " (expected (" + out + ", " + in + "))");
            }
        }
        if (in % 32 != 0) {
            throw error(p, in + " inputs is not a multiple of the group size 32");
        }
        long[] want = {out, in / 32};
        if (s.dtype() != Dtype.BF16 || !Arrays.equals(s.shape(), want)) {
            throw error(s, "expected BF16 " + Arrays.toString(want) + " (one scale per 32 inputs)");
        }
        return new Tensor(name, GgmlType.CT_INT4, new long[] {in, out}, data(p.name()), data(s.name()));
    }

    private static final ValueLayout.OfInt LE_INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong LE_LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private static long[] reversed(long[] shape) {
        long[] r = new long[shape.length];
        for (int i = 0; i < shape.length; i++) {
            r[i] = shape[shape.length - 1 - i];
        }
        return r;
    }

    private static SafetensorsFormatException error(SafetensorsTensorInfo t, String message) {
        return new SafetensorsFormatException(t.file(), t.fileOffset(), "tensor '" + t.name() + "' "
                + Arrays.toString(t.shape()) + " " + t.dtype() + ": " + message);
    }

    /** Unmaps every file; views become unusable. */
    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            arena.close();
        }
    }
}
