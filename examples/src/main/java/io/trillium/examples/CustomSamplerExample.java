package io.trillium.examples;

import io.trillium.api.GenerationRequest;
import io.trillium.api.GenerationResult;
import io.trillium.api.LoadOptions;
import io.trillium.api.Model;
import io.trillium.api.Session;
import io.trillium.api.Trillium;
import io.trillium.sample.LogitsProcessor;
import io.trillium.sample.Sampler;
import io.trillium.sample.SamplingContext;
import io.trillium.tokenizer.Tokenizer;

import java.nio.file.Path;
import java.util.BitSet;

/**
 * Plugging user-written decoding rules into a generation:
 * <ul>
 *   <li>{@link DigitsOnly}, a {@link LogitsProcessor} that acts as a tiny grammar: it masks every token
 *       whose bytes are not all ASCII digits, using a table computed once from the tokenizer;</li>
 *   <li>{@link TypicalSampler}, a {@link Sampler} implementing locally typical sampling (typical-p).</li>
 * </ul>
 * Usage: {@code CustomSamplerExample model.gguf [prompt]}.
 */
public final class CustomSamplerExample {
    private CustomSamplerExample() {}

    /** Allows only tokens made of ASCII digits; everything else gets a logit of −∞. */
    public static final class DigitsOnly implements LogitsProcessor {
        private final BitSet allowed;

        public DigitsOnly(Tokenizer tokenizer) {
            allowed = new BitSet(tokenizer.vocabSize());
            for (int id = 0; id < tokenizer.vocabSize(); id++) {
                if (isDigits(tokenizer.tokenBytes(id))) allowed.set(id);
            }
            if (allowed.isEmpty()) throw new IllegalArgumentException("vocabulary has no digit tokens");
        }

        /** Whether the token's bytes are non-empty and all ASCII digits. */
        public static boolean isDigits(byte[] bytes) {
            if (bytes.length == 0) return false;
            for (byte b : bytes) {
                if (b < '0' || b > '9') return false;
            }
            return true;
        }

        /** Whether token {@code id} may be generated. */
        public boolean allows(int id) {
            return allowed.get(id);
        }

        @Override
        public void process(float[] logits, SamplingContext context) {
            for (int id = allowed.nextClearBit(0); id < logits.length; id = allowed.nextClearBit(id + 1)) {
                logits[id] = Float.NEGATIVE_INFINITY;
            }
        }
    }

    /**
     * Locally typical sampling (Meister et al., 2022): keeps the tokens whose surprisal is closest to
     * the distribution's entropy until their mass reaches {@code p}, then draws among them.
     * All randomness comes from {@link SamplingContext#random()}, so the request's seed reproduces a run.
     */
    public record TypicalSampler(double p) implements Sampler {
        public TypicalSampler {
            if (!(p > 0 && p <= 1)) throw new IllegalArgumentException("p must be in (0, 1]: " + p);
        }

        @Override
        public int sample(float[] logits, SamplingContext context) {
            int n = logits.length;
            double max = Double.NEGATIVE_INFINITY;
            for (float l : logits) max = Math.max(max, l);
            double[] prob = new double[n];
            double sum = 0;
            for (int i = 0; i < n; i++) sum += prob[i] = Math.exp(logits[i] - max);
            double entropy = 0;
            for (int i = 0; i < n; i++) {
                prob[i] /= sum;
                if (prob[i] > 0) entropy -= prob[i] * Math.log(prob[i]);
            }
            // order candidates by |surprisal - entropy|, most typical first
            double h = entropy;
            Integer[] order = new Integer[n];
            for (int i = 0; i < n; i++) order[i] = i;
            java.util.Arrays.sort(order, java.util.Comparator.comparingDouble(
                    i -> prob[i] > 0 ? Math.abs(-Math.log(prob[i]) - h) : Double.POSITIVE_INFINITY));
            int kept = 0;
            double mass = 0;
            while (kept < n && prob[order[kept]] > 0 && (kept == 0 || mass < p)) mass += prob[order[kept++]];
            double r = context.random().nextDouble() * mass;
            for (int k = 0; k < kept; k++) {
                r -= prob[order[k]];
                if (r <= 0) return order[k];
            }
            return order[kept - 1];
        }
    }

    public static void main(String[] args) {
        String prompt = args.length > 1 ? args[1] : "The year the first moon landing happened:";
        try (Model model = Trillium.load(Path.of(args[0]), LoadOptions.defaults());
             Session session = model.newSession()) {
            GenerationRequest request = GenerationRequest.builder()
                    .prompt(prompt)
                    .logitsProcessor(new DigitsOnly(model.tokenizer())) // runs before the sampler
                    .sampler(new TypicalSampler(0.9))
                    .maxTokens(8)
                    .seed(7)
                    .build();
            GenerationResult result = session.generate(request);
            System.out.println(prompt + " " + result.text());
        }
    }
}
