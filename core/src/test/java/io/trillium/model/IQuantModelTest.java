package io.trillium.model;

import io.trillium.fixtures.Fixtures;
import io.trillium.gguf.GgufFile;
import io.trillium.gguf.GgufTensorInfo;
import io.trillium.gguf.GgufWriter;
import io.trillium.quant.GgmlType;
import io.trillium.quant.Kernels;
import io.trillium.quant.Numerics;
import io.trillium.quant.Tensor;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.*;

/**
 * A deepseek2 model whose matrices are i-quants or ternary blocks runs, and gives the logits of its F32
 * twin (every such matrix written as its reference dequantization: an independent path through the F32
 * kernels). ds2-tiny's matrices with 256-multiple rows are replaced by valid random blocks of the type
 * (any bytes are a valid block once the block scale is a finite f16), scaled to weights of ds2-tiny's size.
 */
class IQuantModelTest {
    private static final ValueLayout.OfShort LE_SHORT =
            ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    @ParameterizedTest
    @ValueSource(strings = {"IQ1_S", "IQ1_M", "IQ2_XXS", "IQ2_XS", "IQ2_S", "IQ3_XXS", "IQ3_S", "TQ1_0", "TQ2_0"})
    void givesTheLogitsOfItsF32Twin(String typeName, @TempDir Path dir) throws IOException {
        GgmlType type = GgmlType.valueOf(typeName);
        Path quantized = dir.resolve("iq.gguf");
        Path twin = dir.resolve("f32.gguf");
        int replaced = write(type, quantized, twin);
        assertTrue(replaced > 20, replaced + " matrices replaced");
        int[] prompt = {1, 7, 42, 3, 99, 5, 12, 8};
        try (LanguageModel q = Models.load(quantized, Numerics.EXACT); LanguageModel f = Models.load(twin, Numerics.EXACT);
             LanguageModel.State qs = q.newState(16); LanguageModel.State fs = f.newState(16)) {
            float[] want = f.forward(fs, prompt).clone();
            float[] got = q.forward(qs, prompt).clone();
            assertTrue(Fixtures.relL2(want, got) <= 1e-5, type + " prompt: rel-L2 " + Fixtures.relL2(want, got));
            for (int token : new int[] {9, 17, 23}) {   // decode steps
                want = f.forward(fs, new int[] {token}).clone();
                got = q.forward(qs, new int[] {token});
                assertTrue(Fixtures.relL2(want, got) <= 1e-5, type + " decode: rel-L2 " + Fixtures.relL2(want, got));
                assertEquals(DeepseekGoldenTest.argmax(want), DeepseekGoldenTest.argmax(got), type + " greedy token");
            }
        }
    }

    /**
     * The default numerics (activations quantized to Q8_K once per vector, the native integer kernels) give
     * llama.cpp's logits on the same file: {@code iquant/TYPE.llama-logits.f32} are llama.cpp 34af94c's
     * last-position logits of this prompt on the model {@link #write} makes (llama-logits from
     * ../shared/tools/build-llama-oracle.sh). Both are 0.05–0.43 (rel-L2) from the F32 twin on these random
     * blocks: that distance is the activation quantization's, the same in both engines.
     */
    @ParameterizedTest
    @ValueSource(strings = {"IQ1_S", "IQ1_M", "IQ2_XXS", "IQ2_XS", "IQ2_S", "IQ3_XXS", "IQ3_S", "TQ1_0", "TQ2_0"})
    void defaultNumericsGiveLlamaCppsLogits(String typeName, @TempDir Path dir) throws IOException {
        org.junit.jupiter.api.Assumptions.assumeTrue(Kernels.nativeStatus().startsWith("native kernels: "),
                "llama.cpp's numerics for the i-quants need the native kernels: " + Kernels.nativeStatus());
        GgmlType type = GgmlType.valueOf(typeName);
        Path quantized = dir.resolve("iq.gguf");
        write(type, quantized, null);
        float[] want;
        try (java.io.InputStream in = IQuantModelTest.class.getResourceAsStream("iquant/" + type + ".llama-logits.f32")) {
            java.nio.FloatBuffer fb = java.nio.ByteBuffer.wrap(in.readAllBytes()).order(ByteOrder.LITTLE_ENDIAN)
                    .asFloatBuffer();
            want = new float[fb.remaining()];
            fb.get(want);
        }
        int[] prompt = {1, 7, 42, 3, 99, 5, 12, 8};
        try (LanguageModel q = Models.load(quantized, Numerics.QUANTIZED); LanguageModel.State qs = q.newState(16)) {
            float[] got = q.forward(qs, prompt);
            double rel = Fixtures.relL2(want, got);
            System.out.printf("%s default numerics: rel-L2 %.2e to llama.cpp's logits%n", type, rel);
            assertTrue(rel <= 1e-5, type + ": rel-L2 " + rel + " to llama.cpp");
            assertEquals(DeepseekGoldenTest.argmax(want), DeepseekGoldenTest.argmax(got), type + " greedy token");
        }
    }

    /**
     * Models written by Trillium's own quantizers ({@code synth --preset ds2-tiny --type T --seed 3}) are what
     * llama.cpp reads: {@code iquant/synth-T.llama-logits.f32} are llama-logits' last-position logits of ids
     * 1 7 42 3 on that file (34af94c); the default numerics give them.
     */
    @ParameterizedTest
    @ValueSource(strings = {"IQ3_S", "TQ1_0", "TQ2_0"})
    void synthesizedFilesGiveLlamaCppsLogits(String typeName, @TempDir Path dir) throws IOException {
        org.junit.jupiter.api.Assumptions.assumeTrue(Kernels.nativeStatus().startsWith("native kernels: "),
                "llama.cpp's numerics for these types need the native kernels: " + Kernels.nativeStatus());
        Path file = new io.trillium.synth.ModelSynthesizer(io.trillium.synth.SynthSpec.presetBuilder("ds2-tiny")
                .weightType(GgmlType.valueOf(typeName)).seed(3).build()).write(dir.resolve("synth.gguf")).path();
        float[] want;
        try (java.io.InputStream in = IQuantModelTest.class.getResourceAsStream("iquant/synth-" + typeName
                + ".llama-logits.f32")) {
            java.nio.FloatBuffer fb = java.nio.ByteBuffer.wrap(in.readAllBytes()).order(ByteOrder.LITTLE_ENDIAN)
                    .asFloatBuffer();
            want = new float[fb.remaining()];
            fb.get(want);
        }
        try (LanguageModel q = Models.load(file, Numerics.QUANTIZED); LanguageModel.State qs = q.newState(8)) {
            float[] got = q.forward(qs, new int[] {1, 7, 42, 3});
            double rel = Fixtures.relL2(want, got);
            System.out.printf("synth %s: rel-L2 %.2e to llama.cpp's logits%n", typeName, rel);
            assertTrue(rel <= 1e-5, typeName + ": rel-L2 " + rel + " to llama.cpp");
            assertEquals(DeepseekGoldenTest.argmax(want), DeepseekGoldenTest.argmax(got), typeName + " greedy token");
        }
    }

    /** The two models (the F32 twin unless {@code twin} is null); returns how many matrices became {@code type}. */
    private static int write(GgmlType type, Path quantized, Path twin) throws IOException {
        Map<String, MemorySegment> blocks = new HashMap<>();
        Map<String, float[]> values = new HashMap<>();
        SplittableRandom rnd = new SplittableRandom(type.id());
        Arena arena = Arena.ofAuto();
        try (GgufFile src = GgufFile.open(Fixtures.models().resolve("ds2-tiny-F32.gguf"))) {
            GgufWriter wq = new GgufWriter().putAll(src.metadata());
            GgufWriter wf = new GgufWriter().putAll(src.metadata());
            for (GgufTensorInfo info : src.tensors()) {
                Tensor t = src.tensor(info.name());
                boolean swap = t.rank() >= 2 && t.type() == GgmlType.F32 && t.rowLength() % 256 == 0
                        && !info.name().startsWith("token_embd");
                wq.tensor(info.name(), swap ? type : t.type(), info.shape());
                wf.tensor(info.name(), t.type(), info.shape());
                if (!swap) {
                    continue;
                }
                float[] w = new float[Math.toIntExact(t.elementCount())];
                t.dequantizeRows(0, t.rowCount(), w, 0);
                double rms = Math.sqrt(java.util.Arrays.stream(toDouble(w)).map(v -> v * v).average().orElse(1));
                long nb = t.elementCount() / 256;
                MemorySegment b = arena.allocate(nb * type.blockBytes());
                for (long i = 0; i < b.byteSize(); i++) {
                    b.set(ValueLayout.JAVA_BYTE, i, (byte) rnd.nextInt(256));
                }
                setScale(type, b, nb, (short) 0x3C00);   // d = 1: measure the blocks' own size
                float[] unit = new float[w.length];
                Kernels.reference(type).dequantize(b, 0, unit, 0, unit.length);
                double unitRms = Math.sqrt(java.util.Arrays.stream(toDouble(unit)).map(v -> v * v).average().orElse(1));
                setScale(type, b, nb, Float.floatToFloat16((float) (rms / unitRms)));
                float[] deq = new float[w.length];
                Kernels.reference(type).dequantize(b, 0, deq, 0, deq.length);
                blocks.put(info.name(), b);
                values.put(info.name(), deq);
            }
            wq.write(quantized, (info, dst) -> {
                MemorySegment b = blocks.get(info.name());
                dst.copyFrom(b != null ? b : src.tensor(info.name()).data());
            });
            if (twin != null) {
                wf.write(twin, (info, dst) -> {
                    float[] v = values.get(info.name());
                    if (v == null) {
                        dst.copyFrom(src.tensor(info.name()).data());
                    } else {
                        MemorySegment.copy(v, 0, dst,
                                ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0, v.length);
                    }
                });
            }
            return blocks.size();
        }
    }

    private static double[] toDouble(float[] v) {
        double[] d = new double[v.length];
        for (int i = 0; i < v.length; i++) {
            d[i] = v[i];
        }
        return d;
    }

    /** Every block's f16 scale set to {@code f16} (where each type keeps it). */
    private static void setScale(GgmlType type, MemorySegment b, long nb, short f16) {
        for (long k = 0; k < nb; k++) {
            long o = k * type.blockBytes();
            switch (type) {
                case TQ1_0 -> b.set(LE_SHORT, o + 52, f16);
                case TQ2_0 -> b.set(LE_SHORT, o + 64, f16);
                case IQ1_M -> {   // the top nibble of each of the four scale words
                    for (int i = 0; i < 4; i++) {
                        short w = b.get(LE_SHORT, o + 48 + 2 * i);
                        int nibble = (f16 >> (4 * i)) & 0xF;
                        b.set(LE_SHORT, o + 48 + 2 * i, (short) ((w & 0x0FFF) | nibble << 12));
                    }
                }
                default -> b.set(LE_SHORT, o, f16);
            }
        }
    }
}
