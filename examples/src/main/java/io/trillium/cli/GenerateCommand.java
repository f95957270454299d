package io.trillium.cli;

import io.trillium.model.LanguageModel;
import io.trillium.tokenizer.StreamingDecoder;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.OptionalInt;
import java.util.concurrent.Callable;

/** {@code trillium generate --model FILE --prompt TEXT --max-tokens N --greedy [--ids] [--threads N]}. */
@Command(name = "generate", mixinStandardHelpOptions = true,
        description = {"Continue the prompt token by token.",
                "--greedy (required for now: sampling comes later) takes the most likely token, ties to the lowest id.",
                "With --ids: the prompt ids on line 1, the N generated ids on line 2 (EOS does not stop), then the text.",
                "Without --ids: the generated text is streamed, stopping at EOS."})
final class GenerateCommand implements Callable<Integer> {

    @Mixin
    ModelOptions model;

    @Option(names = "--prompt", required = true, paramLabel = "TEXT",
            description = "prompt text (tokenized as the model's metadata says: BOS when add_bos_token)")
    String prompt;

    @Option(names = "--max-tokens", paramLabel = "N", defaultValue = "64", description = "tokens to generate (default ${DEFAULT-VALUE})")
    int maxTokens;

    @Option(names = "--greedy", description = "greedy decoding (the only mode so far; must be given)")
    boolean greedy;

    @Option(names = "--ids", description = "print the prompt ids and the generated ids before the text")
    boolean ids;

    @Override
    public Integer call() throws IOException {
        // An explicit --greedy keeps today's scripts meaning the same once sampling becomes the default.
        if (!greedy) {
            throw new IllegalArgumentException("sampling is not implemented yet: pass --greedy");
        }
        if (maxTokens < 1) {
            throw new IllegalArgumentException("--max-tokens must be >= 1, got " + maxTokens);
        }
        PrintStream out = System.out;
        try (LanguageModel m = model.load()) {
            int[] prompt = ModelOptions.encodePrompt(m, this.prompt);
            // the last generated token is never fed back
            LanguageModel.State state = m.newState(prompt.length + maxTokens - 1);
            OptionalInt eos = m.tokenizer().eos();
            StreamingDecoder text = new StreamingDecoder(m.tokenizer());
            int[] generated = new int[maxTokens];
            int n = 0;
            float[] logits = m.forward(state, prompt);
            while (n < maxTokens) {
                int next = ModelOptions.argmax(logits);
                if (!ids && eos.isPresent() && next == eos.getAsInt()) {
                    break;
                }
                generated[n++] = next;
                if (!ids) {
                    write(out, text.accept(next));
                }
                if (n < maxTokens) {
                    logits = m.forward(state, new int[] {next});
                }
            }
            if (ids) {
                int[] gen = Arrays.copyOf(generated, n);
                write(out, ModelOptions.join(prompt) + "\n" + ModelOptions.join(gen) + "\n" + m.tokenizer().decode(gen) + "\n");
            } else {
                write(out, text.flush() + "\n");
            }
            return 0;
        }
    }

    /** Raw UTF-8: the platform encoding of System.out may not hold every character. */
    private static void write(PrintStream out, String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        out.write(b, 0, b.length);
        out.flush();
    }
}
