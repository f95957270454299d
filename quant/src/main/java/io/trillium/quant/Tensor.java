package io.trillium.quant;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * A view of one tensor's raw ggml blocks: no copy, just a {@link MemorySegment} slice of a mapped
 * file or a tier-owned buffer. {@code shape[0]} is ne0, the contiguous (fastest) axis, as in GGUF;
 * a "row" is ne0 consecutive elements, and quantization blocks run along it.
 *
 * @param name  the tensor's name, as in the model file
 * @param type  element type
 * @param shape dims, ne0 first (1 to 4 of them)
 * @param data  exactly {@link #byteSize()} bytes of blocks
 * @param scales the companion scales of a checkpoint type ({@link GgmlType#hasScales()}: CT_INT4's
 *               BF16 per 32 inputs, F8_E4M3_B128's F32 per 128×128 block), else null
 */
public record Tensor(String name, GgmlType type, long[] shape, MemorySegment data, MemorySegment scales) {

    /** A tensor of a type without companion scales (every GGUF type). */
    public Tensor(String name, GgmlType type, long[] shape, MemorySegment data) {
        this(name, type, shape, data, null);
    }

    public Tensor {
        shape = shape.clone();
        if (shape.length < 1 || shape.length > 4) {
            throw new IllegalArgumentException(name + ": a tensor has 1 to 4 dims, got " + shape.length);
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
        long bytes = type.bytesFor(n);
        if (data.byteSize() != bytes) {
            throw new IllegalArgumentException(name + ": " + type + " " + Arrays.toString(shape) + " needs "
                    + bytes + " bytes, the segment has " + data.byteSize());
        }
        if (type.hasScales()) {
            if (type == GgmlType.F8_E4M3_B128 && shape.length > 2) {
                throw new IllegalArgumentException(name + ": " + type + " blocks are 2-D, got dims " + Arrays.toString(shape));
            }
            long sb = type.scaleBytes(shape[0], n / Math.max(1, shape[0]));
            if (scales == null || scales.byteSize() != sb) {
                throw new IllegalArgumentException(name + ": " + type + " " + Arrays.toString(shape) + " needs "
                        + sb + " bytes of scales, got " + (scales == null ? "none" : scales.byteSize()));
            }
        } else if (scales != null) {
            throw new IllegalArgumentException(name + ": " + type + " has no companion scales");
        }
    }

    /** The dims, ne0 first (a copy). */
    @Override
    public long[] shape() {
        return shape.clone();
    }

    /** Number of dims. */
    public int rank() {
        return shape.length;
    }

    /** ne[i], or 1 past the rank. */
    public long dim(int i) {
        return i < shape.length ? shape[i] : 1;
    }

    /** Total element count. */
    public long elementCount() {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        return n;
    }

    /** Elements per row (ne0). */
    public long rowLength() {
        return shape[0];
    }

    /** Number of rows: the product of all dims but ne0. */
    public long rowCount() {
        return elementCount() / Math.max(1, shape[0]) ;
    }

    /** Bytes per row. */
    public long rowBytes() {
        return type.bytesFor(shape[0]);
    }

    /** Bytes of the whole tensor's data (its companion scales not included). */
    public long byteSize() {
        return type.bytesFor(elementCount());
    }

    /** Bytes of data and companion scales together: what reading the tensor costs. */
    public long totalBytes() {
        return byteSize() + (scales == null ? 0 : scales.byteSize());
    }

    /** Rows {@code [from, to)} as a tensor of shape [ne0, to - from]. */
    public Tensor rows(long from, long to) {
        long rows = rowCount();
        if (from < 0 || to > rows || from > to) {
            throw new IndexOutOfBoundsException(name + ": rows " + from + ":" + to + " outside 0:" + rows);
        }
        long rb = rowBytes();
        long[] dims = {shape[0], to - from};
        MemorySegment slice = data.asSlice(from * rb, (to - from) * rb);
        return switch (type) {
            case CT_INT4 -> {
                long sr = shape[0] / 32 * 2;
                yield new Tensor(name, type, dims, slice, scales.asSlice(from * sr, (to - from) * sr));
            }
            case F8_E4M3_B128 -> {
                if (from % 128 != 0 || (to % 128 != 0 && to != rows)) {
                    throw new IllegalArgumentException(name + ": FP8 rows " + from + ":" + to
                            + " do not start and end on a 128-row scale block");
                }
                long sr = (shape[0] + 127) / 128 * 4;
                yield new Tensor(name, type, dims, slice,
                        scales.asSlice(from / 128 * sr, type.scaleBytes(shape[0], to - from)));
            }
            default -> new Tensor(name, type, dims, slice);
        };
    }

    /**
     * The 2-D matrix {@code [ne0, ne1]} of expert {@code e} of a 3-D expert tensor {@code [ne0, ne1, n_expert]}.
     */
    public Tensor expert(int e) {
        if (shape.length != 3) {
            throw new IllegalArgumentException(name + " is not a 3-D expert tensor: dims " + Arrays.toString(shape));
        }
        if (e < 0 || e >= shape[2]) {
            throw new IndexOutOfBoundsException(name + ": expert " + e + " outside 0:" + shape[2]);
        }
        long bytes = type.bytesFor(shape[0] * shape[1]);
        long sb = type.scaleBytes(shape[0], shape[1]);
        return new Tensor(name + "[expert " + e + "]", type, new long[] {shape[0], shape[1]},
                data.asSlice(e * bytes, bytes), sb == 0 ? null : scales.asSlice(e * sb, sb));
    }

    /** Dequantizes rows {@code [from, to)} into {@code dst} with the scalar reference dequantizer. */
    public void dequantizeRows(long from, long to, float[] dst, int dstOffset) {
        Tensor part = rows(from, to);
        long n = part.elementCount();
        if (n > dst.length - dstOffset) {
            throw new IllegalArgumentException(name + ": " + n + " values do not fit the destination");
        }
        Dequantizer dq = Kernels.reference(part);
        int rowLen = Math.toIntExact(shape[0]);
        long rb = rowBytes();
        for (long r = 0; r < to - from; r++) {
            dq.dequantize(part.data, r * rb, dst, dstOffset + (int) (r * rowLen), rowLen);
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Tensor t && name.equals(t.name) && type == t.type
                && Arrays.equals(shape, t.shape) && data.equals(t.data) && java.util.Objects.equals(scales, t.scales);
    }

    @Override
    public int hashCode() {
        return name.hashCode() * 31 + Arrays.hashCode(shape);
    }

    @Override
    public String toString() {
        return name + " " + type + " " + Arrays.toString(shape);
    }
}
