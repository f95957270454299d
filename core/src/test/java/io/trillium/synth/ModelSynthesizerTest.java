package io.trillium.synth;

import io.trillium.fixtures.Fixtures;
import io.trillium.gguf.GgufFile;
import io.trillium.gguf.GgufMetadata;
import io.trillium.gguf.GgufTensorInfo;
import io.trillium.gguf.GgufValue;
import io.trillium.model.ModelConfig;
import io.trillium.quant.GgmlType;
import io.trillium.quant.Tensor;
import io.trillium.tokenizer.Tokenizer;
import io.trillium.tokenizer.Tokenizers;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

class ModelSynthesizerTest {

    @TempDir
    Path tmp;

    private Path synth(SynthSpec spec, String file) throws IOException {
        return new ModelSynthesizer(spec).threads(2).write(tmp.resolve(file)).path();
    }

    private static List<String> tensorLines(GgufFile f) {
        return f.tensors().stream().map(t -> t.name() + " " + Arrays.toString(t.shape()) + " " + t.type()).toList();
    }

    /** The synthesized tensor list (names, dims, types, order) and hyper-parameter keys equal the fixture's. */
    @ParameterizedTest
    @CsvSource({"ds2-tiny, ds2-tiny-F32.gguf", "qwen3moe-tiny, qwen3moe-tiny-F32.gguf", "llama-tiny, llama-tiny-F32.gguf"})
    void fixtureShapes(String preset, String fixture) throws IOException {
        Path out = synth(SynthSpec.preset(preset), preset + ".gguf");
        try (GgufFile mine = GgufFile.open(out); GgufFile ref = GgufFile.open(Fixtures.models().resolve(fixture))) {
            assertEquals(tensorLines(ref), tensorLines(mine));
            GgufMetadata m = mine.metadata();
            for (Map.Entry<String, GgufValue> e : ref.metadata().asMap().entrySet()) {
                String k = e.getKey();
                if (k.startsWith("tokenizer.") || k.equals("general.name")) {
                    continue;
                }
                assertTrue(m.has(k), preset + ": missing " + k);
                assertEquals(e.getValue(), m.get(k), preset + ": " + k);
            }
            assertEquals(ModelConfig.fromGguf(ref.metadata()), ModelConfig.fromGguf(m), "forward-pass config");
        }
    }

    @Test
    void deepseek2Q4KFallsBackWhereRowsDoNotHoldBlocks() throws IOException {
        SynthSpec spec = SynthSpec.presetBuilder("ds2-tiny").vocab(1000).weightType(GgmlType.Q4_K).seed(5).build();
        assertEquals(List.of("attn_k_b: ne0 64 is not a multiple of the Q4_K block 256, written as Q8_0 (3 tensors)"),
                spec.fallbacks());
        try (GgufFile f = GgufFile.open(synth(spec, "ds2-q4k.gguf"))) {
            for (GgufTensorInfo t : f.tensors()) {
                GgmlType want = t.name().contains("norm") || t.name().contains("ffn_gate_inp")
                        || t.name().contains("exp_probs_b") ? GgmlType.F32
                        : t.name().contains("attn_k_b") ? GgmlType.Q8_0 : GgmlType.Q4_K;
                assertEquals(want, t.type(), t.name());
            }
            GgufMetadata m = f.metadata();
            assertEquals(14, m.getInt("general.file_type"));
            assertEquals(2, m.getInt("general.quantization_version"));
            assertEquals(288, m.getInt("deepseek2.attention.key_length"));
            assertEquals(256, m.getInt("deepseek2.attention.value_length"));
            assertEquals(96, m.getInt("deepseek2.attention.key_length_mla"));
            assertEquals(64, m.getInt("deepseek2.attention.value_length_mla"));
            assertEquals(1, m.getInt("deepseek2.attention.head_count_kv"));
        }
    }

    @Test
    void qwen3moeQ8FallsBackToF16ForRowsOf48() throws IOException {
        SynthSpec spec = SynthSpec.presetBuilder("qwen3moe-tiny").weightType(GgmlType.Q8_0).build();
        try (GgufFile f = GgufFile.open(synth(spec, "q.gguf"))) {
            assertEquals(GgmlType.F16, f.tensorInfo("blk.0.attn_q.weight").type());        // ne0 48
            assertEquals(GgmlType.Q8_0, f.tensorInfo("blk.0.attn_output.weight").type());  // ne0 128
            assertEquals(GgmlType.Q8_0, f.tensorInfo("blk.1.ffn_down_exps.weight").type()); // ne0 96
            assertEquals(GgmlType.F32, f.tensorInfo("blk.1.ffn_gate_inp.weight").type());
            assertEquals(7, f.metadata().getInt("general.file_type"));
        }
    }

    /** Mixtral-style llama MoE and a qwen3moe / deepseek2 variant in every writable type. */
    @ParameterizedTest
    @ValueSource(strings = {"F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_K", "Q6_K", "TQ1_0", "TQ2_0", "IQ3_S"})
    void everyTypeWritesAndReopens(String type) throws IOException {
        GgmlType t = SynthSpec.parseType(type);
        SynthSpec llama = new SynthSpec.Builder("llama").hidden(256).layers(2).heads(4).kvHeads(2).vocab(300)
                .ffn(256).experts(4).used(2).ctx(512).ropeBase(10000).rmsEps(1e-5f).weightType(t).build();
        SynthSpec lite = SynthSpec.presetBuilder("ds2-tiny").qLoraRank(0).gatingFunc(1).weightsScale(0)
                .weightsNorm(false).sharedExperts(0).tiedEmbeddings(false).vocab(400).weightType(t).build();
        try (GgufFile f = GgufFile.open(synth(llama, "llama.gguf"))) {
            assertEquals(List.of(4L), List.of(f.metadata().getLong("llama.expert_count")));
            assertArrayEquals(new long[]{256, 4}, f.tensorInfo("blk.1.ffn_gate_inp.weight").shape());
            assertArrayEquals(new long[]{256, 256, 4}, f.tensorInfo("blk.1.ffn_down_exps.weight").shape());
            assertEquals(t, f.tensorInfo("blk.1.ffn_up_exps.weight").type());
            assertFalse(f.hasTensor("blk.0.ffn_up.weight"));
            Tensor out = f.tensor("output.weight");
            assertEquals(t, out.type());
            float[] row = new float[256];
            out.dequantizeRows(0, 1, row, 0);
            assertTrue(Math.abs(row[0]) < 1, "values decode");
        }
        try (GgufFile f = GgufFile.open(synth(lite, "lite.gguf"))) {
            assertTrue(f.hasTensor("blk.0.attn_q.weight"));
            assertFalse(f.hasTensor("blk.0.attn_q_a.weight"));
            assertFalse(f.hasTensor("blk.1.exp_probs_b.bias"));
            assertFalse(f.hasTensor("blk.1.ffn_up_shexp.weight"));
            assertTrue(f.hasTensor("output.weight"));
            assertFalse(f.metadata().has("deepseek2.attention.q_lora_rank"));
            assertFalse(f.metadata().has("deepseek2.expert_weights_norm"));
            assertEquals(1, f.metadata().getInt("deepseek2.expert_gating_func"));
            assertArrayEquals(new long[]{256, 4 * 96}, f.tensorInfo("blk.2.attn_q.weight").shape());
        }
    }

    @Test
    void sameSeedSameBytesAnyThreadCount() throws IOException {
        SynthSpec spec = SynthSpec.presetBuilder("ds2-tiny").vocab(1000).weightType(GgmlType.Q4_K).seed(42).build();
        Path a = new ModelSynthesizer(spec).threads(1).write(tmp.resolve("a.gguf")).path();
        Path b = new ModelSynthesizer(spec).threads(3).write(tmp.resolve("b.gguf")).path();
        Path c = new ModelSynthesizer(spec.toBuilder().seed(43).build()).threads(2).write(tmp.resolve("c.gguf")).path();
        assertEquals(-1, Files.mismatch(a, b), "same seed, different thread counts");
        assertNotEquals(-1, Files.mismatch(a, c), "different seed");
        assertEquals(Files.size(a), Files.size(c));
    }

    /** Same seed gives the same underlying values in every type; distributions are as documented. */
    @Test
    void valuesFollowTheInitAndDoNotDependOnType() throws IOException {
        SynthSpec f32 = SynthSpec.presetBuilder("ds2-tiny").seed(9).build();
        SynthSpec q8 = f32.toBuilder().weightType(GgmlType.Q8_0).build();
        try (GgufFile a = GgufFile.open(synth(f32, "f32.gguf")); GgufFile b = GgufFile.open(synth(q8, "q8.gguf"))) {
            float[] x = values(a.tensor("blk.1.ffn_down_exps.weight"));
            float[] y = values(b.tensor("blk.1.ffn_down_exps.weight"));
            double maxErr = 0;
            for (int i = 0; i < x.length; i++) {
                maxErr = Math.max(maxErr, Math.abs(x[i] - y[i]));
            }
            assertTrue(maxErr < 0.01, "Q8_0 holds the F32 values, max error " + maxErr);
            assertEquals(1 / Math.sqrt(256), std(x, 0), 0.002, "matrix std 1/sqrt(ne0)");
            assertEquals(0.1, std(values(a.tensor("blk.0.attn_norm.weight")), 1), 0.02, "norm 1 + 0.1 N");
            assertEquals(1.0, mean(values(a.tensor("blk.0.attn_norm.weight"))), 0.03);
            assertEquals(0.02, std(values(a.tensor("token_embd.weight")), 0), 0.001, "embedding std");
        }
    }

    /** The quick Q4_K encoder writes blocks the reference decoder reads, nearly as accurately as ggml's rounding. */
    @Test
    void fastQ4KIsValidQ4K() {
        int n = 256 * 64;
        float[] x = new float[n];
        java.util.SplittableRandom r = new java.util.SplittableRandom(1);
        for (int i = 0; i < n; i++) {
            x[i] = (float) (r.nextGaussian() * (i < n / 2 ? 0.05 : 1.0) + (i % 512 == 7 ? 3 : 0));
        }
        x[300] = 0;
        java.util.Arrays.fill(x, 1024, 1280, 0f);   // an all-zero block
        java.util.Arrays.fill(x, 1280, 1536, 0.5f); // a constant positive block
        byte[] fast = new byte[n / 256 * 144];
        FastQ4K.quantize(x, n, fast);
        byte[] ref = new byte[fast.length];
        io.trillium.quant.Kernels.quantizer(GgmlType.Q4_K).quantize(x, 0, java.lang.foreign.MemorySegment.ofArray(ref), 0, n);
        float[] a = new float[n];
        float[] b = new float[n];
        io.trillium.quant.Dequantizer dq = io.trillium.quant.Kernels.reference(GgmlType.Q4_K);
        dq.dequantize(java.lang.foreign.MemorySegment.ofArray(fast), 0, a, 0, n);
        dq.dequantize(java.lang.foreign.MemorySegment.ofArray(ref), 0, b, 0, n);
        double ef = 0, er = 0, sx = 0;
        for (int i = 0; i < n; i++) {
            ef += (a[i] - x[i]) * (a[i] - x[i]);
            er += (b[i] - x[i]) * (b[i] - x[i]);
            sx += x[i] * x[i];
        }
        assertTrue(ef < 1.5 * er, "fast error " + ef + " vs reference " + er);
        assertTrue(ef < 0.02 * sx, "relative error " + ef / sx);
        for (int i = 1024; i < 1280; i++) {
            assertEquals(0f, a[i], "zero block stays zero");
        }
        for (int i = 1280; i < 1536; i++) {
            assertEquals(0.5f, a[i], 0.02f, "constant block");
        }
    }

    private static float[] values(Tensor t) {
        float[] v = new float[Math.toIntExact(t.elementCount())];
        t.dequantizeRows(0, t.rowCount(), v, 0);
        return v;
    }

    private static double mean(float[] v) {
        double s = 0;
        for (float x : v) {
            s += x;
        }
        return s / v.length;
    }

    private static double std(float[] v, double mean) {
        double s = 0;
        for (float x : v) {
            s += (x - mean) * (x - mean);
        }
        return Math.sqrt(s / v.length);
    }

    @Test
    void tokenizerLoadsAndRoundTrips() throws IOException {
        try (GgufFile f = GgufFile.open(synth(SynthSpec.preset("llama-tiny"), "t.gguf"))) {
            Tokenizer tok = Tokenizers.fromGguf(f.metadata());
            assertEquals(32000, tok.vocabSize());
            int[] ids = tok.encode("hello world", false, false);
            assertEquals("hello world", tok.decode(ids));
            assertEquals(List.of("hello", "Ġworld"), Arrays.stream(ids).mapToObj(tok::tokenText).toList());
            assertEquals("<|begin_of_text|>", tok.tokenText(tok.bos().orElseThrow()));
            assertEquals("<|end_of_text|>", tok.tokenText(tok.eos().orElseThrow()));
            assertEquals(tok.bos().orElseThrow(), tok.encode("hi", true, false)[0]);
            assertEquals("[PAD31999]", tok.tokenText(31999));
            String odd = "héllo\twörld ✓ 日本 \n\n  x";
            assertEquals(odd, tok.decode(tok.encode(odd, false, false)));
        }
        // The smallest vocabulary: bytes and the two control tokens, no merges.
        try (GgufFile f = GgufFile.open(synth(SynthSpec.presetBuilder("llama-tiny").vocab(258).build(), "v.gguf"))) {
            Tokenizer tok = Tokenizers.fromGguf(f.metadata());
            assertEquals("hello world", tok.decode(tok.encode("hello world", false, false)));
            assertEquals(11, tok.encode("hello world", false, false).length);
        }
    }

    @Test
    void refusesToOverwrite() throws IOException {
        SynthSpec spec = SynthSpec.preset("llama-tiny");
        Path p = synth(spec, "x.gguf");
        byte[] before = Files.readAllBytes(p);
        assertThrows(FileAlreadyExistsException.class, () -> new ModelSynthesizer(spec.toBuilder().seed(1).build())
                .write(p));
        assertArrayEquals(before, Files.readAllBytes(p));
        new ModelSynthesizer(spec.toBuilder().seed(1).build()).overwrite(true).write(p);
        assertFalse(Arrays.equals(before, Files.readAllBytes(p)));
    }

    /** Kimi K2.5 at full size, planned only: counts as MODEL-FACTS 1.2 and 3.4 give them. */
    @Test
    void kimiK25PlanMatchesTheRealFile() {
        SynthSpec k = SynthSpec.preset("kimi-k2.5");
        List<SynthTensor> t = k.tensors();
        assertEquals(1096, t.size());
        SynthSpec f32 = k.toBuilder().weightType(GgmlType.F32).build();
        assertEquals(365, f32.tensors().stream().filter(x -> x.init() != SynthTensor.Init.MATRIX
                && x.init() != SynthTensor.Init.EMBEDDING).count());
        assertEquals(1.0264e12, k.totalParams(), 0.0001e12);
        assertEquals(32.86e9, k.activeParams(), 0.01e9);
        assertArrayEquals(new long[]{128, 512, 64}, find(t, "blk.5.attn_k_b.weight").shape());
        assertArrayEquals(new long[]{512, 128, 64}, find(t, "blk.5.attn_v_b.weight").shape());
        assertArrayEquals(new long[]{7168, 2048, 384}, find(t, "blk.60.ffn_gate_exps.weight").shape());
        assertArrayEquals(new long[]{2048, 7168, 384}, find(t, "blk.60.ffn_down_exps.weight").shape());
        assertArrayEquals(new long[]{7168, 18432}, find(t, "blk.0.ffn_up.weight").shape());
        assertEquals(List.of("attn_k_b: ne0 128 is not a multiple of the Q4_K block 256, written as Q8_0 (61 tensors)"),
                k.fallbacks());
        SynthSpec small = SynthSpec.presetBuilder("kimi-k2.5").layers(4).build();
        assertEquals(4 * 10 + 3 + 3 * 8 + 3, small.tensors().size());
        assertTrue(small.summary().contains("params:"), small.summary());
    }

    private static SynthTensor find(List<SynthTensor> t, String name) {
        return t.stream().filter(x -> x.name().equals(name)).findFirst().orElseThrow();
    }

    @Test
    void presetsAndOverrides() {
        for (String p : SynthSpec.presets()) {
            assertFalse(SynthSpec.preset(p).tensors().isEmpty(), p);
        }
        SynthSpec q = SynthSpec.preset("qwen3-30b-a3b");
        assertEquals(List.of(2048, 48, 32, 4, 128, 128, 8, 768, 151936),
                List.of(q.hidden(), q.layers(), q.heads(), q.kvHeads(), q.headDim(), q.experts(), q.used(),
                        q.expertFfn(), q.vocab()));
        assertEquals(30.5e9, q.totalParams(), 0.2e9);
        assertEquals(3.3e9, q.activeParams(), 0.2e9);
        SynthSpec v3 = SynthSpec.preset("deepseek-v3");
        assertEquals(List.of(128, 256, 3, 8, 4), List.of(v3.heads(), v3.experts(), v3.leadingDense(),
                v3.expertGroups(), v3.expertGroupsUsed()));
        assertEquals(671e9, v3.totalParams(), 1e9);
        // Per token: all of every tensor except one row of token_embd (untied) and the unused experts.
        SynthSpec l3 = SynthSpec.preset("llama-tiny");
        long all = l3.tensors().stream().mapToLong(SynthTensor::bytes).sum();
        assertEquals(all - 48L * 32000 * 4 + 48 * 4, l3.activeBytesPerToken());
        SynthSpec ds = SynthSpec.preset("ds2-tiny");   // tied: the whole embedding is the head too
        long dsAll = ds.tensors().stream().mapToLong(SynthTensor::bytes).sum();
        assertEquals(dsAll - 2 * 3 * (256L * 256 * 12 * 4), ds.activeBytesPerToken());
        assertEquals(ds.totalParams() - 2 * 3 * (256L * 256 * 12), ds.activeParams());
        // Derived fields re-derive after an override.
        SynthSpec l = SynthSpec.preset("llama-tiny").toBuilder().hidden(64).heads(4).build();
        assertEquals(16, l.headDim());
        assertEquals(16, l.ropeDims());
    }

    @Test
    void impossibleShapesAreRefusedInOneLine() {
        List<String> messages = new ArrayList<>();
        for (Runnable r : List.<Runnable>of(
                () -> SynthSpec.presetBuilder("llama-tiny").heads(5).build(),
                () -> SynthSpec.presetBuilder("llama-tiny").kvHeads(2).build(),
                () -> SynthSpec.presetBuilder("kimi-k2.5").used(400).build(),
                () -> SynthSpec.presetBuilder("kimi-k2.5").leadingDense(70).build(),
                () -> SynthSpec.presetBuilder("kimi-k2.5").expertGroups(5).build(),
                () -> SynthSpec.presetBuilder("qwen3-30b-a3b").qLoraRank(8).build(),
                () -> SynthSpec.presetBuilder("llama-tiny").vocab(100).build(),
                () -> SynthSpec.builder("mamba"),
                () -> SynthSpec.preset("gpt-5"),
                () -> SynthSpec.parseType("Q5_K"))) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, r::run);
            assertFalse(e.getMessage().contains("\n"), e.getMessage());
            messages.add(e.getMessage());
        }
        assertTrue(messages.get(0).contains("heads 5 do not divide hidden 48"), messages.get(0));
        assertTrue(messages.get(1).contains("kv heads 2 must divide heads 3"), messages.get(1));
        assertTrue(messages.get(9).contains("Q5_K"), messages.get(9));
    }

    /** Kimi K2.5 at full size with no data: every tensor listed at its place, the data section a hole. */
    @Test
    void noDataWritesTheFullKimiInventoryAsASparseFile() throws IOException {
        SynthSpec spec = SynthSpec.preset("kimi-k2.5");
        Path out = new ModelSynthesizer(spec).noData(true).write(tmp.resolve("kimi-k2.5-empty.gguf")).path();
        try (GgufFile g = GgufFile.open(out)) {
            List<SynthTensor> want = spec.tensors();
            List<GgufTensorInfo> got = g.tensors();
            assertEquals(want.size(), got.size());
            long end = 0;
            for (int i = 0; i < want.size(); i++) {
                SynthTensor w = want.get(i);
                GgufTensorInfo t = got.get(i);
                assertEquals(w.name(), t.name());
                assertEquals(w.type(), t.type(), w.name());
                assertArrayEquals(w.shape(), t.shape(), w.name());
                assertEquals(w.bytes(), t.byteSize(), w.name());
                assertEquals((end + 31) & ~31L, t.offset(), w.name() + ": packed in order, 32-byte aligned");
                end = t.offset() + t.byteSize();
            }
            assertEquals(spec.tensorBytes(), (end + 31) & ~31L);
            assertEquals(ModelConfig.fromGguf(g.metadata()).experts(), 384);
            long size = Files.size(out);
            assertEquals(g.dataOffset(0) + spec.tensorBytes(), size);
            assertTrue(size > 500L << 30, "logical size " + size);
            long used = Fixtures.allocatedBytes(out);
            assertTrue(used < 64L << 20 || used < 0, "sparse: " + used + " bytes allocated of " + size);
        }
        Files.delete(out);
    }
}
