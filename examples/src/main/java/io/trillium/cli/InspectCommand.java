package io.trillium.cli;

import io.trillium.gguf.GgufFile;
import io.trillium.gguf.GgufMetadata;
import io.trillium.gguf.GgufArray;
import io.trillium.gguf.GgufTensorInfo;
import io.trillium.gguf.GgufValue;
import io.trillium.quant.GgmlType;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.PrintStream;
import java.lang.reflect.Array;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code trillium inspect FILE}: header, metadata, tensor table and totals per type. */
@Command(name = "inspect", mixinStandardHelpOptions = true,
        description = "Print a GGUF file's header, metadata, tensor table and totals per type.")
final class InspectCommand implements Callable<Integer> {

    @Parameters(index = "0", paramLabel = "FILE", description = "GGUF file (the first file of a split set opens all parts), or a safetensors checkpoint directory")
    Path file;

    @Option(names = "--array-items", paramLabel = "N", defaultValue = "8",
            description = "array elements shown before abbreviating (default: ${DEFAULT-VALUE})")
    int arrayItems;

    /** A safetensors checkpoint: its configuration as Trillium reads it, then every entry. */
    private int checkpoint(PrintStream out) throws java.io.IOException {
        try (var ckpt = io.trillium.safetensors.SafetensorsCheckpoint.open(file)) {
            out.printf("checkpoint: %s (safetensors, %d files, %d tensors)%n", ckpt.directory(), ckpt.files().size(),
                    ckpt.names().size());
            if (java.nio.file.Files.isRegularFile(ckpt.directory().resolve("config.json"))) {
                out.printf("config: %s%n", io.trillium.model.CheckpointConfig.read(ckpt.directory()));
            }
            out.println();
            out.println("tensors:");
            long total = 0;
            for (String name : ckpt.names()) {
                var t = ckpt.info(name);
                total += t.byteSize();
                out.printf("  %s  %s %s  %s @%d (%s)%n", name, t.dtype(), java.util.Arrays.toString(t.shape()),
                        t.file().getFileName(), t.fileOffset(), human(t.byteSize()));
            }
            out.printf("%ntotal: %s%n", human(total));
        }
        return 0;
    }

    @Override
    public Integer call() throws java.io.IOException {
        PrintStream out = System.out;
        if (io.trillium.safetensors.SafetensorsCheckpoint.isCheckpoint(file)) {
            return checkpoint(out);
        }
        try (GgufFile gguf = GgufFile.open(file)) {
            List<Path> files = gguf.files();
            out.printf("file: %s%n", file);
            if (files.size() > 1) {
                out.printf("split: %d parts%n", files.size());
                for (int i = 0; i < files.size(); i++) {
                    out.printf("  part %d: %s (data offset %d)%n", i + 1, files.get(i), gguf.dataOffset(i));
                }
            }
            GgufMetadata md = gguf.metadata();
            out.printf("header: GGUF v%d, %d tensors, %d metadata keys, alignment %d, data offset %d%n",
                    gguf.version(), gguf.tensors().size(), md.keys().size(), gguf.alignment(), gguf.dataOffset(0));

            out.println();
            out.println("metadata:");
            for (String key : md.keys()) {
                GgufValue v = md.get(key);
                out.printf("  %s: %s = %s%n", key, typeName(v), format(v.value(), arrayItems));
            }

            out.println();
            out.println("tensors:");
            List<GgufTensorInfo> tensors = gguf.tensors();
            int nameWidth = 4;
            for (GgufTensorInfo t : tensors) {
                nameWidth = Math.max(nameWidth, t.name().length());
            }
            String row = "  %-" + nameWidth + "s  %-7s  %-24s  %14s  %14s%s%n";
            out.printf(row, "name", "type", "dims", "bytes", "offset", files.size() > 1 ? "  part" : "");
            Map<GgmlType, long[]> totals = new EnumMap<>(GgmlType.class);
            long totalBytes = 0;
            long totalElements = 0;
            for (GgufTensorInfo t : tensors) {
                out.printf(row, t.name(), t.type(), Arrays.toString(t.shape()), t.byteSize(), t.fileOffset(),
                        files.size() > 1 ? "  " + (t.part() + 1) : "");
                long[] tot = totals.computeIfAbsent(t.type(), k -> new long[3]);
                tot[0]++;
                tot[1] += elements(t.shape());
                tot[2] += t.byteSize();
                totalBytes += t.byteSize();
                totalElements += elements(t.shape());
            }

            out.println();
            out.println("totals per type:");
            out.printf("  %-7s  %8s  %16s  %16s  %8s%n", "type", "tensors", "elements", "bytes", "share");
            for (Map.Entry<GgmlType, long[]> e : totals.entrySet()) {
                long[] tot = e.getValue();
                out.printf("  %-7s  %8d  %16d  %16d  %7.2f%%%n", e.getKey(), tot[0], tot[1], tot[2],
                        totalBytes == 0 ? 0.0 : 100.0 * tot[2] / totalBytes);
            }
            out.printf("  %-7s  %8d  %16d  %16d  (%s)%n", "all", tensors.size(), totalElements, totalBytes,
                    human(totalBytes));
            return 0;
        }
    }

    private static long elements(long[] shape) {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        return n;
    }

    static String human(long bytes) {
        String[] units = {"B", "KiB", "MiB", "GiB", "TiB"};
        double v = bytes;
        int u = 0;
        while (v >= 1024 && u < units.length - 1) {
            v /= 1024;
            u++;
        }
        return u == 0 ? bytes + " B" : String.format("%.2f %s", v, units[u]);
    }

    /** "u32", "string", "array[string x 32256]", "array[array x 2]" ... */
    static String typeName(GgufValue v) {
        if (v.value() instanceof GgufArray a) {
            return "array[" + a.elementType().name().toLowerCase(java.util.Locale.ROOT) + " x " + a.size() + "]";
        }
        return v.type().name().toLowerCase(java.util.Locale.ROOT);
    }

    /** Formats a metadata value; arrays longer than {@code limit} are abbreviated with their length. */
    static String format(Object v, int limit) {
        if (v instanceof GgufArray a) {
            return format(a.values(), limit);
        }
        if (v instanceof String s) {
            return quote(s, 160);
        }
        if (v instanceof List<?> list) {
            StringBuilder sb = new StringBuilder("[");
            int n = list.size();
            for (int i = 0; i < Math.min(n, limit); i++) {
                sb.append(i == 0 ? "" : ", ").append(format(list.get(i), limit));
            }
            if (n > limit) {
                sb.append(", ... (").append(n).append(" items)");
            }
            return sb.append(']').toString();
        }
        if (v != null && v.getClass().isArray()) {
            int n = Array.getLength(v);
            StringBuilder sb = new StringBuilder("[");
            for (int i = 0; i < Math.min(n, limit); i++) {
                sb.append(i == 0 ? "" : ", ").append(format(Array.get(v, i), limit));
            }
            if (n > limit) {
                sb.append(", ... (").append(n).append(" items)");
            }
            return sb.append(']').toString();
        }
        return String.valueOf(v);
    }

    private static String quote(String s, int max) {
        StringBuilder sb = new StringBuilder("\"");
        int shown = Math.min(s.length(), max);
        for (int i = 0; i < shown; i++) {
            char c = s.charAt(i);
            switch (c) {
                case '\n' -> sb.append("\\n");
                case '\t' -> sb.append("\\t");
                case '\r' -> sb.append("\\r");
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                default -> {
                    if (c < 0x20) {
                        sb.append(String.format("\\u%04x", (int) c));
                    } else {
                        sb.append(c);
                    }
                }
            }
        }
        sb.append('"');
        if (s.length() > max) {
            sb.append(" ... (").append(s.length()).append(" chars)");
        }
        return sb.toString();
    }
}
