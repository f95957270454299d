package io.trillium.gguf;

import io.trillium.quant.Tensor;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * A model's weights looked up by their GGUF names ({@code blk.N.attn_q_a.weight} …): a {@link GgufFile},
 * or a Hugging Face checkpoint seen through a name mapping. The forward passes read only this.
 */
public interface TensorSource extends AutoCloseable {
    /** Whether tensor {@code name} exists. */
    boolean hasTensor(String name);

    /** A zero-copy view of tensor {@code name}; throws naming the model if there is none. */
    Tensor tensor(String name);

    /** Tensor {@code name}'s dims, ne0 first (a source may answer for tensors it cannot view as one, e.g. expert stacks). */
    default long[] dims(String name) {
        return tensor(name).shape();
    }

    /** The view of {@code name}, or empty if there is no such tensor. */
    default Optional<Tensor> findTensor(String name) {
        return hasTensor(name) ? Optional.of(tensor(name)) : Optional.empty();
    }

    /** The files holding the weights (the first names the model in messages). */
    List<Path> files();

    /**
     * A load error about this source's tensors (missing, mis-shaped, an unsupported type), naming its first
     * file: what every model's loader throws, whatever the format (a checkpoint seen under GGUF names too).
     */
    default GgufFormatException formatError(String message) {
        return new GgufFormatException(files().getFirst(), -1, message);
    }

    @Override
    void close();
}
