package io.trillium.gguf;

import io.trillium.quant.GgmlType;

import java.util.Arrays;

/**
 * Where one tensor lives: its declaration in the tensor-info table and its place in the file.
 *
 * @param name       the tensor's name
 * @param type       element type (possibly one with no kernels yet: only dequantizing fails)
 * @param shape      dims, ne0 (contiguous) first, 1 to 4 of them
 * @param part       index of the split file holding it (0 for a single file)
 * @param offset     offset of its data from the start of that part's data section
 * @param byteSize   bytes of data
 * @param fileOffset absolute offset of its data in that part's file
 */
public record GgufTensorInfo(String name, GgmlType type, long[] shape, int part, long offset, long byteSize,
                             long fileOffset) {

    public GgufTensorInfo {
        shape = shape.clone();
    }

    /** The dims, ne0 first (a copy). */
    @Override
    public long[] shape() {
        return shape.clone();
    }

    /** ne[i], or 1 past the rank. */
    public long dim(int i) {
        return i < shape.length ? shape[i] : 1;
    }

    public int rank() {
        return shape.length;
    }

    public long elementCount() {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        return n;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof GgufTensorInfo t && name.equals(t.name) && type == t.type
                && Arrays.equals(shape, t.shape) && part == t.part && offset == t.offset
                && byteSize == t.byteSize && fileOffset == t.fileOffset;
    }

    @Override
    public int hashCode() {
        return name.hashCode() * 31 + Arrays.hashCode(shape);
    }

    @Override
    public String toString() {
        return name + " " + type + " " + Arrays.toString(shape) + " part " + part + " @" + fileOffset
                + " (" + byteSize + " bytes)";
    }
}
