package io.trillium.cli;

import io.trillium.api.SamplerChain;
import io.trillium.api.Samplers;
import io.trillium.sample.Sampler;
import picocli.CommandLine.Option;

import java.util.concurrent.ThreadLocalRandom;

/**
 * Sampling flags shared by generate and chat. Without any flag: temperature 0.8, top-p 0.95 and a random
 * seed (printed to stderr so a run can be repeated with --seed).
 */
final class SamplingOptions {
    static final double DEFAULT_TEMPERATURE = 0.8;
    static final double DEFAULT_TOP_P = 0.95;

    @Option(names = "--greedy", description = "greedy decoding: the most likely token, ties to the lowest id")
    boolean greedy;

    @Option(names = "--temperature", paramLabel = "T", description = "sampling temperature; 0 = greedy (default 0.8)")
    Double temperature;

    @Option(names = "--top-p", paramLabel = "P", description = "nucleus sampling (default 0.95)")
    Double topP;

    @Option(names = "--top-k", paramLabel = "K", description = "keep the K most likely tokens (default: off)")
    Integer topK;

    @Option(names = "--min-p", paramLabel = "M", description = "drop tokens below M x the top probability (default: off)")
    Double minP;

    @Option(names = "--repeat-penalty", paramLabel = "F", description = "repetition penalty (default: off)")
    Double repeatPenalty;

    @Option(names = "--seed", paramLabel = "S", description = "sampling seed (default: random)")
    Long seed;

    boolean anySamplingFlag() {
        return temperature != null || topP != null || topK != null || minP != null || repeatPenalty != null;
    }

    Sampler sampler() {
        if (greedy) {
            if (anySamplingFlag()) {
                throw new IllegalArgumentException("--greedy does not take sampling flags");
            }
            return Samplers.greedy();
        }
        double t = temperature != null ? temperature : DEFAULT_TEMPERATURE;
        if (t == 0) {
            return Samplers.greedy();
        }
        SamplerChain c = Samplers.builder().temperature(t).topP(topP != null ? topP : DEFAULT_TOP_P);
        if (topK != null) c = c.topK(topK);
        if (minP != null) c = c.minP(minP);
        if (repeatPenalty != null) c = c.repetitionPenalty(repeatPenalty);
        return c;
    }

    /** The seed to use: --seed, else a random one. */
    long seed() {
        if (seed == null) {
            seed = ThreadLocalRandom.current().nextLong();
        }
        return seed;
    }
}
