package io.trillium.cli;

import io.trillium.quant.Numerics;
import picocli.CommandLine.Option;

/** {@code --exact}: float activations instead of the default llama.cpp numerics (every command that runs a model). */
final class NumericsOptions {
    @Option(names = "--exact", description = "float32 activations (\"dequantize, multiply in float\"; several times "
            + "slower for K-quants). Default: llama.cpp's numerics, activations quantized to Q8_0/Q8_K once per "
            + "input vector for the integer (native) kernels")
    boolean exact;

    /** Accepted for a while: quantized activations are the default now. */
    @Option(names = "--q8-activations", hidden = true, description = "the default now; accepted and ignored")
    boolean q8Activations;

    Numerics numerics() {
        if (exact && q8Activations) {
            throw new IllegalArgumentException("--exact and --q8-activations contradict each other");
        }
        return exact ? Numerics.EXACT : Numerics.QUANTIZED;
    }
}
