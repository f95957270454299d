package io.trillium.moe;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * How often the router chose each expert of each MoE layer: the popularity that the expert cache's
 * pinned hot set, the placement planner and {@code trillium repack} order experts by. Thread-safe;
 * recording is lock-free (one atomic add per chosen expert).
 *
 * <p>Saved as JSON: {@code {"format":"trillium-expert-stats","version":1,"layers":L,"experts":E,
 * "tokens":[per layer],"counts":[[per expert] per layer]}}; dense layers have all-zero rows.
 */
public final class ExpertStats {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String FORMAT = "trillium-expert-stats";

    private final int layers;
    private final int experts;
    private final AtomicLongArray counts;   // [layer * experts + expert]
    private final AtomicLongArray tokens;   // routed tokens per layer

    /** Zero counts for {@code layers} layers of {@code experts} experts. */
    public ExpertStats(int layers, int experts) {
        if (layers < 1 || experts < 1) {
            throw new IllegalArgumentException("expert stats need >= 1 layer and expert: " + layers + " x " + experts);
        }
        this.layers = layers;
        this.experts = experts;
        this.counts = new AtomicLongArray(Math.multiplyExact(layers, experts));
        this.tokens = new AtomicLongArray(layers);
    }

    /** Layers (dense ones included). */
    public int layers() {
        return layers;
    }

    /** Routed experts per layer. */
    public int experts() {
        return experts;
    }

    /** One token of {@code layer} chose the first {@code k} of {@code ids}. */
    public void record(int layer, int[] ids, int k) {
        tokens.incrementAndGet(layer);
        int base = layer * experts;
        for (int j = 0; j < k; j++) {
            counts.incrementAndGet(base + ids[j]);
        }
    }

    /** Times expert {@code expert} of {@code layer} was chosen. */
    public long count(int layer, int expert) {
        return counts.get(layer * experts + expert);
    }

    /** Tokens routed through {@code layer}. */
    public long tokens(int layer) {
        return tokens.get(layer);
    }

    /** Fraction of {@code layer}'s tokens that chose {@code expert} (0 when none were routed). */
    public double frequency(int layer, int expert) {
        long t = tokens(layer);
        return t == 0 ? 0 : (double) count(layer, expert) / t;
    }

    /** The experts of {@code layer}, most chosen first (ties: lower id first). */
    public int[] byPopularity(int layer) {
        Integer[] order = new Integer[experts];
        for (int e = 0; e < experts; e++) {
            order[e] = e;
        }
        Arrays.sort(order, (a, b) -> {
            int c = Long.compare(count(layer, b), count(layer, a));
            return c != 0 ? c : Integer.compare(a, b);
        });
        return Arrays.stream(order).mapToInt(Integer::intValue).toArray();
    }

    /** Adds {@code other}'s counts (same shape) into these. */
    public void add(ExpertStats other) {
        if (other.layers != layers || other.experts != experts) {
            throw new IllegalArgumentException("expert stats shapes differ: " + layers + "x" + experts + " vs "
                    + other.layers + "x" + other.experts);
        }
        for (int i = 0; i < counts.length(); i++) {
            counts.addAndGet(i, other.counts.get(i));
        }
        for (int l = 0; l < layers; l++) {
            tokens.addAndGet(l, other.tokens.get(l));
        }
    }

    /** Writes the JSON form to {@code file}; refuses to overwrite an existing file unless {@code replace}. */
    public void save(Path file, boolean replace) throws IOException {
        ObjectNode root = JSON.createObjectNode();
        root.put("format", FORMAT);
        root.put("version", 1);
        root.put("layers", layers);
        root.put("experts", experts);
        ArrayNode t = root.putArray("tokens");
        ArrayNode c = root.putArray("counts");
        for (int l = 0; l < layers; l++) {
            t.add(tokens(l));
            ArrayNode row = c.addArray();
            for (int e = 0; e < experts; e++) {
                row.add(count(l, e));
            }
        }
        byte[] bytes = JSON.writeValueAsBytes(root);
        if (replace) {
            Files.write(file, bytes);
        } else {
            Files.write(file, bytes, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
        }
    }

    /** Reads a file written by {@link #save}; a malformed one fails naming the file and what is wrong. */
    public static ExpertStats load(Path file) throws IOException {
        JsonNode root;
        try {
            root = JSON.readTree(file.toFile());
        } catch (IOException e) {
            throw new IOException(file + ": not expert statistics JSON: " + e.getMessage(), e);
        }
        if (root == null || !FORMAT.equals(root.path("format").asText()) || root.path("version").asInt() != 1) {
            throw new IOException(file + ": expected {\"format\":\"" + FORMAT + "\",\"version\":1,...}");
        }
        int layers = root.path("layers").asInt(-1);
        int experts = root.path("experts").asInt(-1);
        JsonNode t = root.path("tokens");
        JsonNode c = root.path("counts");
        if (layers < 1 || experts < 1 || !t.isArray() || t.size() != layers || !c.isArray() || c.size() != layers) {
            throw new IOException(file + ": expected 'layers' and 'experts' >= 1, 'tokens' of " + layers
                    + " numbers and 'counts' of " + layers + " rows");
        }
        ExpertStats s = new ExpertStats(layers, experts);
        for (int l = 0; l < layers; l++) {
            JsonNode row = c.get(l);
            if (!row.isArray() || row.size() != experts || !t.get(l).canConvertToLong() || t.get(l).asLong() < 0) {
                throw new IOException(file + ": layer " + l + ": expected a token count and " + experts + " counts");
            }
            s.tokens.set(l, t.get(l).asLong());
            for (int e = 0; e < experts; e++) {
                JsonNode v = row.get(e);
                if (!v.canConvertToLong() || v.asLong() < 0) {
                    throw new IOException(file + ": layer " + l + " expert " + e + ": not a count: " + v);
                }
                s.counts.set(l * experts + e, v.asLong());
            }
        }
        return s;
    }
}
