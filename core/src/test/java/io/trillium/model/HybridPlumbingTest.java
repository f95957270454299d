package io.trillium.model;

import io.trillium.quant.Numerics;
import io.trillium.backend.ComputeBackend;
import io.trillium.backend.CpuBackend;
import io.trillium.fixtures.Fixtures;
import io.trillium.quant.Tensor;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The hooks a GPU backend uses (routed experts on {@link ComputeBackend#hostBackend()}, shared expert
 * started before them and awaited after): with a stand-in backend that defers the shared expert to
 * {@code await()} and counts what reaches it, logits equal the plain CPU backend's (to float noise).
 */
class HybridPlumbingTest {

    /** Not a CpuBackend; runs its own mat-vecs on one inner CPU backend, experts on another. */
    static final class Deferring implements ComputeBackend {
        final CpuBackend own = new CpuBackend(2, Numerics.EXACT);
        final CpuBackend host = new CpuBackend(2, Numerics.EXACT);
        final AtomicInteger matVecs = new AtomicInteger();
        final AtomicInteger deferred = new AtomicInteger();
        boolean inFlight;

        @Override
        public void matVec(Tensor w, float[] x, int xOff, float[] y, int yOff) {
            assertFalse(inFlight, "the model must not use the backend while the shared expert is in flight");
            // routed experts belong to the host backend (ExpertExecutor takes hostBackend())
            assertFalse(w.name().contains("_exps"), "routed expert on the device backend: " + w.name());
            matVecs.incrementAndGet();
            own.matVec(w, x, xOff, y, yOff);
        }

        @Override
        public ComputeBackend hostBackend() {
            return host;
        }

        @Override
        public Pending startSwiglu(Tensor gate, Tensor up, Tensor down, float[] h, float[] g, float[] u, float[] out) {
            float[] copy = h.clone();   // the contract: h may be reused once this returns
            deferred.incrementAndGet();
            inFlight = true;
            return () -> {
                inFlight = false;
                ComputeBackend.super.startSwiglu(gate, up, down, copy, g, u, out).await();
            };
        }

        @Override
        public int threads() {
            return 2;
        }

        @Override
        public void close() {
            own.close();
            host.close();
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"ds2-tiny-Q8_0", "ds2-tiny-F32", "qwen3moe-tiny-F32"})
    void deferredSharedExpertAndHostExpertsGiveIdenticalLogits(String name) throws Exception {
        var file = Fixtures.models().resolve(name + ".gguf");
        int[] prompt = {1, 2, 3, 4, 5};
        float[] want;
        try (LanguageModel m = Models.load(file, new CpuBackend(2, Numerics.EXACT))) {
            want = m.forward(m.newState(16), prompt).clone();
        }
        Deferring b = new Deferring();
        float[] got;
        try (LanguageModel m = Models.load(file, b)) {
            got = m.forward(m.newState(16), prompt).clone();
        }
        // Not bit-equal across two loads in one JVM: the Vector API's lane reductions sum in another order
        // before and after C2 compiles them. A lost or doubled shared expert moves the logits by far more.
        double rel = Fixtures.relL2(want, got);
        assertTrue(rel <= 1e-5, name + ": rel-L2 " + rel);
        assertTrue(b.matVecs.get() > 0);
        if (name.startsWith("ds2")) {
            assertTrue(b.deferred.get() > 0, "the shared expert went through startSwiglu");
        }
    }
}
