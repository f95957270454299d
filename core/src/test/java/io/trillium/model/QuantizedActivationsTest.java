package io.trillium.model;

import io.trillium.backend.CpuBackend;
import io.trillium.fixtures.Fixtures;
import io.trillium.quant.Numerics;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The default numerics (llama.cpp's: activations quantized to Q8_0/Q8_K) on every quantized fixture
 * model and prompt. Its last-position logits must be no further from the float reference than twice
 * llama.cpp's own distance plus 0.02 (rel-L2; both distances from the fixture's files): the same
 * kind of approximation llama.cpp makes, not a worse one. The exact mode's guarantees (≤ 1e-3 rel-L2 to the float
 * reference, the same greedy tokens) are pinned by DeepseekGoldenTest; here it only serves as the
 * check that the two modes really differ.
 */
class QuantizedActivationsTest {

    static final String[] PROMPTS = {"The quick brown fox", "Once upon a time",
            "def fibonacci(n): return n if n < 2 else fibonacci(n - 1) + fibonacci(n - 2)"};

    @ParameterizedTest(name = "{0} {1}")
    @CsvSource({"ds2-tiny-Q8_0, p1", "ds2-tiny-Q8_0, p2", "ds2-tiny-Q8_0, p3",
            "ds2-tiny-Q4_K_M, p1", "ds2-tiny-Q4_K_M, p2", "ds2-tiny-Q4_K_M, p3"})
    void defaultNumericsAreAsCloseToTheFloatReferenceAsLlamaCpp(String model, String prompt) throws IOException {
        Path dir = Fixtures.models();
        String text = PROMPTS[prompt.charAt(1) - '1'];
        float[] ref = Fixtures.readF32(dir.resolve(model + "." + prompt + ".ref_last_logits.f32"));
        float[] cpp = Fixtures.readF32(dir.resolve(model + "." + prompt + ".last_logits.f32"));
        float[] exact;
        float[] fast;
        try (LanguageModel m = Models.load(dir.resolve(model + ".gguf"), new CpuBackend(1, Numerics.EXACT))) {
            exact = m.forward(m.newState(64), m.tokenizer().encode(text, true, false)).clone();
        }
        CpuBackend defaults = new CpuBackend(2);
        assertEquals(Numerics.QUANTIZED, defaults.numerics(), "the default numerics are llama.cpp's");
        try (LanguageModel m = Models.load(dir.resolve(model + ".gguf"), defaults)) {
            fast = m.forward(m.newState(64), m.tokenizer().encode(text, true, false)).clone();
        }
        double cppVsRef = Fixtures.relL2(cpp, ref);
        double fastVsRef = Fixtures.relL2(fast, ref);
        double fastVsCpp = Fixtures.relL2(fast, cpp);
        double bound = 2 * cppVsRef + 0.02;
        System.out.printf("%s %s: default rel-L2 vs float reference %.3e (bound %.3e; llama.cpp's own %.3e), "
                + "vs llama.cpp %.3e; exact mode vs float reference %.1e%n",
                model, prompt, fastVsRef, bound, cppVsRef, fastVsCpp, Fixtures.relL2(exact, ref));
        assertTrue(fastVsRef <= bound, model + " " + prompt + ": the default numerics are " + fastVsRef
                + " from the float reference, more than 2 x llama.cpp's " + cppVsRef + " + 0.02");
        assertTrue(Fixtures.relL2(fast, exact) > 1e-5, "the default mode really quantizes activations");
    }
}
