package io.trillium.safetensors;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Writes safetensors files for tests: entries in the order added, contiguous, the header padded with
 * spaces to a multiple of 8 as the reference writer does. {@link #writeRaw} writes any header text.
 */
public final class SafetensorsWriter {
    private record Entry(String name, String dtype, long[] shape, byte[] data) {
    }

    private final List<Entry> entries = new ArrayList<>();

    /** Adds tensor {@code name} (shape outermost first) with its little-endian bytes. */
    public SafetensorsWriter add(String name, String dtype, long[] shape, byte[] data) {
        entries.add(new Entry(name, dtype, shape.clone(), data.clone()));
        return this;
    }

    public SafetensorsWriter f32(String name, long[] shape, float[] v) {
        ByteBuffer b = ByteBuffer.allocate(v.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (float f : v) {
            b.putFloat(f);
        }
        return add(name, "F32", shape, b.array());
    }

    /** BF16 by truncation-free rounding (round to nearest even) of {@code v}. */
    public SafetensorsWriter bf16(String name, long[] shape, float[] v) {
        ByteBuffer b = ByteBuffer.allocate(v.length * 2).order(ByteOrder.LITTLE_ENDIAN);
        for (float f : v) {
            b.putShort(io.trillium.quant.Kernels.toBF16(f));
        }
        return add(name, "BF16", shape, b.array());
    }

    public SafetensorsWriter i32(String name, long[] shape, int[] v) {
        ByteBuffer b = ByteBuffer.allocate(v.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (int i : v) {
            b.putInt(i);
        }
        return add(name, "I32", shape, b.array());
    }

    /** The header JSON for the entries (offsets as they will be written). */
    public String header() {
        ObjectNode root = new ObjectMapper().createObjectNode();
        root.putObject("__metadata__").put("format", "pt");
        long at = 0;
        for (Entry e : entries) {
            ObjectNode o = root.putObject(e.name);
            o.put("dtype", e.dtype);
            ArrayNode s = o.putArray("shape");
            for (long d : e.shape) {
                s.add(d);
            }
            o.putArray("data_offsets").add(at).add(at + e.data.length);
            at += e.data.length;
        }
        return root.toString();
    }

    /** Writes the file (refusing to replace one). */
    public void write(Path path) throws IOException {
        ByteArrayOutputStream data = new ByteArrayOutputStream();
        for (Entry e : entries) {
            data.write(e.data);
        }
        writeRaw(path, header().getBytes(StandardCharsets.UTF_8), data.toByteArray());
    }

    /** A file of the given header bytes (padded with spaces to a multiple of 8) and data. */
    public static void writeRaw(Path path, byte[] header, byte[] data) throws IOException {
        int pad = (8 - header.length % 8) % 8;
        ByteBuffer b = ByteBuffer.allocate(8 + header.length + pad + data.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(header.length + pad).put(header);
        for (int i = 0; i < pad; i++) {
            b.put((byte) ' ');
        }
        b.put(data);
        Files.write(path, b.array(), java.nio.file.StandardOpenOption.CREATE_NEW);
    }
}
