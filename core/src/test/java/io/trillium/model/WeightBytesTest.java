package io.trillium.model;

import io.trillium.fixtures.Fixtures;
import io.trillium.gguf.GgufFile;
import io.trillium.gguf.GgufTensorInfo;
import org.junit.jupiter.api.Test;

import java.io.IOException;

import static org.junit.jupiter.api.Assertions.assertEquals;

class WeightBytesTest {

    @Test
    void qwen3moeTinyActiveBytesFromItsShapes() throws IOException {
        // fixtures README 2.2: hidden 48, 2 MoE layers of 16 experts (4 used), expert FFN 96, vocab
        // 50257, untied output, all F32.
        try (GgufFile g = GgufFile.open(Fixtures.models().resolve("qwen3moe-tiny-F32.gguf"))) {
            WeightBytes wb = WeightBytes.of(g, ModelConfig.fromGguf(g.metadata()));
            long total = g.tensors().stream().mapToLong(GgufTensorInfo::byteSize).sum();
            long routed = 2L * 3 * 48 * 96 * 16 * 4;
            long embd = 48L * 50257 * 4;
            assertEquals(total, wb.total());
            assertEquals(routed, wb.routedExperts());
            assertEquals(total - routed + routed / 16 * 4 - embd + 48 * 4, wb.activePerToken());
        }
    }
}
