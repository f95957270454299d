package io.trillium.benchmarks;

import io.trillium.tokenizer.Tokenizer;
import io.trillium.tokenizer.Tokenizers;
import org.openjdk.jmh.annotations.*;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * Single-thread encode of a ~1 MB mixed English / Chinese / code text (built deterministically).
 * One operation encodes the whole text, so MB/s = ops/s x bytes / 1e6 (the factor is printed at
 * setup). Needs the shared fixtures folder: system property {@code trillium.shared}, or a
 * {@code shared/} beside a parent of the working directory.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-Xmx2g"})
public class TokenizerBenchmark {

    @Param({"ggml-vocab-deepseek-llm.gguf", "kimi-bpe4k.vocab.gguf"})
    public String vocab;

    private Tokenizer tokenizer;
    private String text;

    @Setup(Level.Trial)
    public void setup() throws IOException {
        Path dir = shared().resolve("fixtures/tokenizer");
        tokenizer = Tokenizers.load(dir.resolve(vocab));
        text = corpus(Files.readString(dir.resolve("ggml-vocab-gpt-2.gguf.inp")), 1_000_000);
        int bytes = text.getBytes(StandardCharsets.UTF_8).length;
        int tokens = tokenizer.encode(text, false, false).length;
        System.out.printf("%n[TokenizerBenchmark] %s: corpus %d bytes, %d chars, %d tokens; MB/s = ops/s x %.6f%n",
                vocab, bytes, text.length(), tokens, bytes / 1e6);
    }

    @Benchmark
    public int[] encode() {
        return tokenizer.encode(text, false, false);
    }

    static Path shared() {
        String prop = System.getProperty("trillium.shared");
        if (prop != null && !prop.isBlank()) {
            return Path.of(prop);
        }
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            if (Files.isDirectory(p.resolve("shared/fixtures"))) {
                return p.resolve("shared");
            }
        }
        throw new IllegalStateException("shared fixtures not found: set -Dtrillium.shared=/path/to/shared");
    }

    private static final List<String> ENGLISH = List.of(
            "Licensed under the Apache License, Version 2.0 (the \"License\"); you may not use this file except in compliance with the License.",
            "Unless required by applicable law or agreed to in writing, software distributed under the License is distributed on an \"AS IS\" BASIS.",
            "THE SOFTWARE IS PROVIDED \"AS IS\", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING BUT NOT LIMITED TO MERCHANTABILITY.",
            "Permission is hereby granted, free of charge, to any person obtaining a copy of this software and associated documentation files.",
            "The quick brown fox jumps over the lazy dog; it's what they'd do, isn't it? We'll see, you've been warned.");
    private static final List<String> CHINESE = List.of(
            "人工智能正在改变我们的生活方式，从医疗到教育，各个领域都在发生深刻的变化。",
            "今天天气很好，我们一起去公园散步吧！顺便买一杯咖啡。",
            "大型语言模型通过预测下一个词来生成文本，其参数规模已经达到数千亿。",
            "混合专家模型只激活一小部分参数，因此推理成本远低于同等规模的稠密模型。");
    private static final List<String> CODE = List.of(
            "public static int fibonacci(int n) {\n    return n < 2 ? n : fibonacci(n - 1) + fibonacci(n - 2);\n}\n",
            "def softmax(x):\n    e = np.exp(x - x.max(axis=-1, keepdims=True))\n    return e / e.sum(axis=-1, keepdims=True)\n",
            "for (int i = 0; i < rows; i++) {\n\tfloat acc = 0f;\n\tfor (int j = 0; j < cols; j++) acc += w[i * cols + j] * x[j];\n\ty[i] = acc;\n}\n",
            "if __name__ == \"__main__\":\n    import sys  # 读取参数\n    main(sys.argv[1:])\n");

    /** English, Chinese and code paragraphs plus the fixture strings, varied with numbers and names. */
    static String corpus(String fixtureStrings, int minBytes) {
        SplittableRandom rnd = new SplittableRandom(42);
        List<String> fixtures = List.of(fixtureStrings.split("\n__ggml_vocab_test__\n"));
        StringBuilder sb = new StringBuilder(minBytes + 4096);
        int bytes = 0;
        while (bytes < minBytes) {
            String piece = switch (rnd.nextInt(10)) {
                case 0, 1, 2, 3 -> ENGLISH.get(rnd.nextInt(ENGLISH.size())) + " Section " + rnd.nextInt(1000) + ".\n";
                case 4, 5, 6 -> CHINESE.get(rnd.nextInt(CHINESE.size())) + "第" + rnd.nextInt(100) + "章。\n";
                case 7, 8 -> CODE.get(rnd.nextInt(CODE.size())).replace("x", "x" + rnd.nextInt(50));
                default -> fixtures.get(rnd.nextInt(fixtures.size())) + "\n";
            };
            sb.append(piece);
            bytes += piece.getBytes(StandardCharsets.UTF_8).length;
        }
        return sb.toString();
    }
}
