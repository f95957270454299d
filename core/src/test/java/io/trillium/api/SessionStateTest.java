package io.trillium.api;

import io.trillium.backend.HostDevice;
import io.trillium.fixtures.Fixtures;
import io.trillium.gguf.GgufFile;
import io.trillium.model.LanguageModel;
import io.trillium.model.ModelConfig;
import io.trillium.model.Models;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/** A session frees its state's memory outside the heap (a device's KV cache) when it closes. */
class SessionStateTest {

    @Test
    void closingASessionFreesItsDeviceCache() throws Exception {
        Path file = Fixtures.models().resolve("ds2-tiny-Q8_0.gguf");
        ModelInfo info;
        try (GgufFile g = GgufFile.open(file)) {
            info = ModelInfo.of(g, ModelConfig.fromGguf(g.metadata()));
        }
        HostDevice.Backend b = new HostDevice.Backend(2, t -> false);
        LanguageModel lm = Models.load(file, b);
        try (Model model = new Model(lm, info, null, LoadOptions.defaults())) {
            int weights = b.device.liveVectors();
            Session s = model.newSession(64);
            assertTrue(b.device.liveVectors() > weights, "the session's state holds device vectors");
            GenerationResult r = s.generate(GenerationRequest.builder().prompt(1, 2, 3).maxTokens(3).build());
            assertEquals(3, r.ids().length);
            s.close();
            assertEquals(weights, b.device.liveVectors(), "closing the session frees them");
            s.close();   // idempotent
            assertThrows(IllegalStateException.class,
                    () -> s.generate(GenerationRequest.builder().prompt(1).maxTokens(1).build()));
        }
    }
}
