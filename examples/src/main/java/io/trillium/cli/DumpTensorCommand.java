package io.trillium.cli;

import io.trillium.gguf.GgufFile;
import io.trillium.quant.Kernels;
import io.trillium.quant.Tensor;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.Callable;

/** {@code trillium dump-tensor FILE NAME --out OUT.f32 [--rows A:B] [--expert E]}. */
@Command(name = "dump-tensor", mixinStandardHelpOptions = true,
        description = "Write a tensor dequantized to little-endian float32, in GGUF element order (ne0 fastest).")
final class DumpTensorCommand implements Callable<Integer> {

    @Parameters(index = "0", paramLabel = "FILE", description = "GGUF file (the first file of a split set opens all parts)")
    Path file;

    @Parameters(index = "1", paramLabel = "NAME", description = "tensor name, e.g. blk.1.ffn_up_exps.weight")
    String name;

    @Option(names = "--out", required = true, paramLabel = "OUT.f32", description = "output file (must not exist unless --force)")
    Path out;

    @Option(names = "--rows", paramLabel = "A:B", description = "only rows A (inclusive) to B (exclusive); a row is ne0 values")
    String rows;

    @Option(names = "--expert", paramLabel = "E", description = "for a 3-D expert tensor [ne0, ne1, n_expert]: expert E only")
    Integer expert;

    @Option(names = "--force", description = "overwrite OUT if it exists")
    boolean force;

    @Override
    public Integer call() throws IOException {
        try (GgufFile gguf = GgufFile.open(file)) {
            Tensor t = gguf.tensor(name);
            if (!Kernels.isSupported(t.type())) {
                throw new IllegalArgumentException(name + " in " + file + " has type " + t.type()
                        + ", which this version cannot dequantize (supported: " + Kernels.SUPPORTED + ")");
            }
            if (expert != null) {
                t = t.expert(expert);
            }
            long from = 0;
            long to = t.rowCount();
            if (rows != null) {
                long[] r = parseRange(rows, t.rowCount());
                from = r[0];
                to = r[1];
            }
            if (Files.exists(out) && !force) {
                throw new IllegalArgumentException(out + " exists; pass --force to overwrite it");
            }
            long values = write(t, from, to, out);
            System.out.printf("%s %s %s rows %d:%d -> %s (%d float32 values, %d bytes)%n",
                    name, t.type(), java.util.Arrays.toString(t.shape()), from, to, out, values, values * 4);
            return 0;
        }
    }

    static long[] parseRange(String spec, long rowCount) {
        int colon = spec.indexOf(':');
        try {
            if (colon < 0) {
                throw new NumberFormatException();
            }
            long a = colon == 0 ? 0 : Long.parseLong(spec.substring(0, colon).trim());
            long b = colon == spec.length() - 1 ? rowCount : Long.parseLong(spec.substring(colon + 1).trim());
            if (a < 0 || b > rowCount || a >= b) {
                throw new IllegalArgumentException("--rows " + spec + " is outside the tensor's rows 0:" + rowCount
                        + " or empty");
            }
            return new long[] {a, b};
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--rows expects A:B (row numbers), got '" + spec + "'");
        }
    }

    /** Streams rows [from, to) dequantized to f32 LE into {@code out}; never holds more than a chunk. */
    private static long write(Tensor t, long from, long to, Path out) throws IOException {
        int rowLen = Math.toIntExact(t.rowLength());
        int chunkRows = Math.max(1, (1 << 20) / Math.max(1, rowLen));
        float[] buf = new float[chunkRows * rowLen];
        ByteBuffer bytes = ByteBuffer.allocate(buf.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        Path tmp = out.resolveSibling(out.getFileName() + ".part");
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            for (long r = from; r < to; r += chunkRows) {
                long end = Math.min(to, r + chunkRows);
                int n = (int) (end - r) * rowLen;
                t.dequantizeRows(r, end, buf, 0);
                bytes.clear();
                bytes.asFloatBuffer().put(buf, 0, n);
                bytes.limit(n * 4);
                while (bytes.hasRemaining()) {
                    ch.write(bytes);
                }
            }
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(tmp);
            throw e;
        }
        try {
            Files.move(tmp, out, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot move " + tmp + " to " + out, e);
        }
        return (to - from) * rowLen;
    }
}
