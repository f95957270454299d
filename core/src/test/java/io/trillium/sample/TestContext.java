package io.trillium.sample;

import java.util.SplittableRandom;
import java.util.random.RandomGenerator;

/** A fixed token history plus a seeded generator, for tests. */
record TestContext(int[] tokens, int generated, RandomGenerator random) implements SamplingContext {
    static TestContext of(long seed, int... tokens) {
        return new TestContext(tokens, 0, new SplittableRandom(seed));
    }

    @Override public int tokenCount() { return tokens.length; }
    @Override public int token(int i) { return tokens[i]; }
    @Override public int generatedCount() { return generated; }
}
