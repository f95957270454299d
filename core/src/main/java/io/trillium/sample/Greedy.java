package io.trillium.sample;


/** Argmax: the highest logit wins, ties go to the lowest id. Stateless, uses no randomness. */
public final class Greedy implements Sampler {
    /** The shared instance (stateless). */
    public static final Greedy INSTANCE = new Greedy();

    private Greedy() {}

    @Override
    public int sample(float[] logits, SamplingContext context) {
        return Scratch.argmax(logits);
    }

    @Override
    public String toString() {
        return "Greedy";
    }
}
