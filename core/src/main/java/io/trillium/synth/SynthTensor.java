package io.trillium.synth;

import io.trillium.quant.GgmlType;

import java.util.Arrays;

/**
 * One tensor of a synthesized model: name, GGUF dims (ne0 first), storage type and how its values
 * are drawn.
 *
 * @param name      GGUF tensor name
 * @param type      storage type (after any block-size fallback)
 * @param requested the type asked for; differs from {@code type} when ne0 did not fit its blocks
 * @param shape     GGUF dims, ne0 first
 * @param init      value distribution
 * @param experts   routed experts stacked in the last dim (0 for everything else)
 */
public record SynthTensor(String name, GgmlType type, GgmlType requested, long[] shape, Init init, int experts) {

    /** How values are drawn. Matrices use the contracted dim ne0 as fan-in. */
    public enum Init {
        /** N(0, 0.02²): token embeddings. */
        EMBEDDING,
        /** N(0, 1/ne0): projections, experts, output head. */
        MATRIX,
        /** N(0, 1/ne0), always F32: MoE router. */
        ROUTER,
        /** 1 + 0.1·N(0,1), always F32: RMSNorm weights. */
        NORM,
        /** N(0, 0.01²), always F32: expert selection bias. */
        BIAS
    }

    public SynthTensor {
        shape = shape.clone();
    }

    @Override
    public long[] shape() {
        return shape.clone();
    }

    public long ne0() {
        return shape[0];
    }

    public long elements() {
        long n = 1;
        for (long d : shape) {
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    public long bytes() {
        return type.bytesFor(elements());
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof SynthTensor t && name.equals(t.name) && type == t.type && requested == t.requested
                && Arrays.equals(shape, t.shape) && init == t.init && experts == t.experts;
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
