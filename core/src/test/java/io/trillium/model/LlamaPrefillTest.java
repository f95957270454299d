package io.trillium.model;

import io.trillium.quant.Numerics;
import io.trillium.backend.CpuBackend;
import io.trillium.fixtures.Fixtures;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The Llama-family batched prefill on the CPU (dense and MoE): a prompt in one forward gives the
 * token-by-token logits, decode continues from the cache it filled, and each chosen expert is read once.
 */
class LlamaPrefillTest {

    @ParameterizedTest
    @ValueSource(strings = {"llama-tiny-F32", "qwen3moe-tiny-F32"})
    void promptInOneForwardIsTokenByToken(String name) throws Exception {
        Path file = Fixtures.models().resolve(name + ".gguf");
        int[] prompt = {1, 7, 42, 3, 99, 5, 12, 8, 17, 23, 4, 61, 2, 30};
        float[] want;
        float[] wantNext;
        long tokenByTokenBytes;
        try (LanguageModel m = Models.load(file, new CpuBackend(2, Numerics.EXACT)); LanguageModel.State s = m.newState(prompt.length + 1)) {
            float[] l = null;
            for (int t : prompt) {
                l = m.forward(s, new int[] {t});
            }
            want = l.clone();
            tokenByTokenBytes = m.bytesRead().values().stream().mapToLong(Long::longValue).sum();
            wantNext = m.forward(s, new int[] {9}).clone();
        }
        try (LanguageModel m = Models.load(file, new CpuBackend(2, Numerics.EXACT)); LanguageModel.State s = m.newState(prompt.length + 1)) {
            float[] got = m.forward(s, prompt).clone();
            double rel = Fixtures.relL2(want, got);
            assertTrue(rel <= 1e-5, name + ": rel-L2 " + rel);
            assertEquals(prompt.length, s.position());
            long bytes = m.bytesRead().values().stream().mapToLong(Long::longValue).sum();
            if (m.config().experts() > 0) {
                assertTrue(bytes < tokenByTokenBytes, "each chosen expert read once per batch: " + bytes + " vs "
                        + tokenByTokenBytes + " token by token");
            } else {
                assertEquals(tokenByTokenBytes, bytes, "a dense model reads the same bytes");
            }
            float[] next = m.forward(s, new int[] {9});
            assertTrue(Fixtures.relL2(wantNext, next) <= 1e-5, name + " after prefill: rel-L2 "
                    + Fixtures.relL2(wantNext, next));
        }
    }
}
