package io.trillium.gguf;

import io.trillium.fixtures.Fixtures;
import io.trillium.quant.GgmlType;
import io.trillium.quant.Tensor;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

/** Reads every fixture GGUF and checks what the fixtures README promises about it. */
class GgufFixturesTest {

    private static List<Path> ggufs(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> p.toString().endsWith(".gguf")).sorted().toList();
        }
    }

    @Test
    void everyFixtureOpens() throws IOException {
        Map<String, Integer> tensorCounts = Map.of(
                "ds2-tiny-F32.gguf", 51, "ds2-tiny-Q8_0.gguf", 51, "ds2-tiny-Q4_K_M.gguf", 51,
                "qwen3moe-tiny-F32.gguf", 27, "llama-tiny-F32.gguf", 21, "type-zoo.gguf", 15, "type-zoo-iq.gguf", 9);
        List<Path> files = Stream.concat(ggufs(Fixtures.models()).stream(), ggufs(Fixtures.tokenizer()).stream()).toList();
        assertTrue(files.size() >= 11, "expected the 6 model and 5 tokenizer fixtures, found " + files);
        for (Path f : files) {
            try (GgufFile g = GgufFile.open(f)) {
                String name = f.getFileName().toString();
                assertEquals(3, g.version(), name);
                assertEquals(32, g.alignment(), name);
                assertEquals(List.of(f), g.files());
                assertFalse(g.metadata().getString("general.architecture").isEmpty(), name);
                int expected = tensorCounts.getOrDefault(name, 0); // vocabulary files hold no tensors
                assertEquals(expected, g.tensors().size(), name);
                for (GgufTensorInfo t : g.tensors()) {
                    Tensor v = g.tensor(t.name());
                    assertEquals(t.byteSize(), v.data().byteSize());
                    assertEquals(t.fileOffset(), g.dataOffset(0) + t.offset());
                    assertTrue(t.fileOffset() + t.byteSize() <= Files.size(f));
                }
            }
        }
    }

    @Test
    void modelShapesAndKeys() throws IOException {
        try (GgufFile g = GgufFile.open(Fixtures.file("models/qwen3moe-tiny-F32.gguf"))) {
            GgufMetadata m = g.metadata();
            assertEquals("qwen3moe", m.getString("general.architecture"));
            assertEquals(48, m.getInt("qwen3moe.embedding_length"));
            assertEquals(16, m.getLong("qwen3moe.expert_count"));
            assertEquals(1e6f, m.getFloat("qwen3moe.rope.freq_base"));
            assertEquals(50257, m.getStringArray("tokenizer.ggml.tokens").size());
            assertEquals(50000, m.getStringArray("tokenizer.ggml.merges").size());
            assertTensor(g, "blk.0.ffn_gate_exps.weight", GgmlType.F32, 48, 96, 16);
            assertTensor(g, "blk.1.ffn_down_exps.weight", GgmlType.F32, 96, 48, 16);
            assertTensor(g, "blk.0.attn_q.weight", GgmlType.F32, 48, 128);
            assertTensor(g, "output.weight", GgmlType.F32, 48, 50257);
            assertTensor(g, "blk.0.attn_k_norm.weight", GgmlType.F32, 32);
        }
        try (GgufFile g = GgufFile.open(Fixtures.file("models/ds2-tiny-Q4_K_M.gguf"))) {
            GgufMetadata m = g.metadata();
            assertEquals("deepseek2", m.getString("general.architecture"));
            assertEquals(2, m.getInt("deepseek2.expert_gating_func"));
            assertTrue(m.getBoolean("deepseek2.expert_weights_norm"));
            assertEquals(2.5f, m.getFloat("deepseek2.expert_weights_scale"));
            assertEquals("yarn", m.getString("deepseek2.rope.scaling.type"));
            assertEquals(15, m.getInt("general.file_type"));
            assertTensor(g, "token_embd.weight", GgmlType.Q6_K, 256, 32256);
            assertTensor(g, "blk.1.attn_k_b.weight", GgmlType.Q5_0, 64, 256, 4);
            assertTensor(g, "blk.1.attn_v_b.weight", GgmlType.Q4_K, 256, 64, 4);
            assertTensor(g, "blk.2.ffn_down_exps.weight", GgmlType.Q6_K, 256, 256, 16);
            assertTensor(g, "blk.1.ffn_gate_inp.weight", GgmlType.F32, 256, 16);
            assertTensor(g, "blk.1.exp_probs_b.bias", GgmlType.F32, 16);
            assertFalse(g.hasTensor("output.weight"), "ds2-tiny has a tied output");
            assertTrue(g.findTensor("output.weight").isEmpty());
            GgufFormatException e = assertThrows(GgufFormatException.class, () -> g.tensor("output.weight"));
            assertTrue(e.getMessage().contains("ds2-tiny-Q4_K_M.gguf") && e.getMessage().contains("output.weight"),
                    e.getMessage());
        }
        try (GgufFile g = GgufFile.open(Fixtures.file("models/llama-tiny-F32.gguf"))) {
            assertTensor(g, "blk.1.attn_k.weight", GgmlType.F32, 48, 16);
            assertTensor(g, "blk.0.ffn_down.weight", GgmlType.F32, 192, 48);
            assertEquals(32000, g.metadata().getFloatArray("tokenizer.ggml.scores").length);
        }
    }

    @Test
    void tokenizerArrays() throws IOException {
        Map<String, int[]> sizes = Map.of( // tokens, merges (-1: none)
                "ggml-vocab-gpt-2.gguf", new int[] {50257, 50000},
                "ggml-vocab-deepseek-coder.gguf", new int[] {32256, 31757},
                "ggml-vocab-deepseek-llm.gguf", new int[] {102400, 99757},
                "ggml-vocab-llama-spm.gguf", new int[] {32000, -1});
        for (var e : sizes.entrySet()) {
            try (GgufFile g = GgufFile.open(Fixtures.file("tokenizer/" + e.getKey()))) {
                GgufMetadata m = g.metadata();
                List<String> tokens = m.getStringArray("tokenizer.ggml.tokens");
                assertEquals(e.getValue()[0], tokens.size(), e.getKey());
                assertEquals(e.getValue()[0], m.getIntArray("tokenizer.ggml.token_type").length, e.getKey());
                assertEquals(e.getValue()[1] >= 0, m.has("tokenizer.ggml.merges"), e.getKey());
                if (e.getValue()[1] >= 0) {
                    assertEquals(e.getValue()[1], m.getStringArray("tokenizer.ggml.merges").size(), e.getKey());
                }
            }
        }
        try (GgufFile g = GgufFile.open(Fixtures.file("tokenizer/ggml-vocab-gpt-2.gguf"))) {
            GgufMetadata m = g.metadata();
            assertEquals("<|endoftext|>", m.getStringArray("tokenizer.ggml.tokens").get(50256));
            assertEquals(50256, m.getInt("tokenizer.ggml.bos_token_id"));
            assertFalse(m.has("tokenizer.ggml.add_bos_token"));
            assertTrue(m.booleanValue("tokenizer.ggml.add_bos_token").isEmpty());
            assertEquals("gpt2", m.getString("tokenizer.ggml.model"));
        }
    }

    @Test
    void typeZoo() throws IOException {
        String[] types = {"F32", "F16", "BF16", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "Q2_K", "Q3_K", "Q4_K",
                "Q5_K", "Q6_K", "IQ4_NL", "IQ4_XS"};
        try (GgufFile g = GgufFile.open(Fixtures.file("models/type-zoo.gguf"))) {
            assertEquals("zoo", g.metadata().getString("general.architecture"));
            for (String t : types) {
                assertTensor(g, t + ".weight", GgmlType.valueOf(t), 256, 256);
            }
            byte[] expected = Files.readAllBytes(Fixtures.file("dequant/type-zoo.F32.weight.f32"));
            MemorySegment data = g.tensor("F32.weight").data();
            assertEquals(-1, data.mismatch(MemorySegment.ofArray(expected)), "F32.weight differs from the f32 dump");
        }
    }

    static void assertTensor(GgufFile g, String name, GgmlType type, long... shape) {
        GgufTensorInfo info = g.tensorInfo(name);
        assertEquals(type, info.type(), name);
        assertArrayEquals(shape, info.shape(), name);
        Tensor t = g.tensor(name);
        assertEquals(type, t.type());
        assertArrayEquals(shape, t.shape());
        assertEquals(type.bytesFor(info.elementCount()), t.data().byteSize());
    }
}
