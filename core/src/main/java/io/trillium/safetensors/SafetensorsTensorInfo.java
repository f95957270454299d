package io.trillium.safetensors;

import java.nio.file.Path;
import java.util.Arrays;

/**
 * One entry of a safetensors header.
 *
 * @param name       the tensor's name
 * @param dtype      element type
 * @param shape      dims as safetensors lists them: outermost first (PyTorch order; ggml's ne0 is the last)
 * @param file       the file holding it
 * @param fileOffset absolute byte offset of its data in {@code file}
 * @param byteSize   bytes of data
 */
public record SafetensorsTensorInfo(String name, Dtype dtype, long[] shape, Path file, long fileOffset, long byteSize) {
    public SafetensorsTensorInfo {
        shape = shape.clone();
    }

    @Override
    public long[] shape() {
        return shape.clone();
    }

    /** Number of dims. */
    public int rank() {
        return shape.length;
    }

    /** Total element count. */
    public long elementCount() {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        return n;
    }

    @Override
    public String toString() {
        return name + " " + dtype + " " + Arrays.toString(shape);
    }
}
