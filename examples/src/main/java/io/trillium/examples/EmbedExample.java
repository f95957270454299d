package io.trillium.examples;

import io.trillium.api.GenerationRequest;
import io.trillium.api.GenerationResult;
import io.trillium.api.LoadOptions;
import io.trillium.api.Metrics;
import io.trillium.api.Model;
import io.trillium.api.Samplers;
import io.trillium.api.Session;
import io.trillium.api.Trillium;
import io.trillium.chat.Message;

import java.nio.file.Path;
import java.util.List;

/**
 * The smallest complete use of the embedding API: load a GGUF model, chat with it, stream the reply
 * to stdout and print the timings. Usage: {@code EmbedExample model.gguf [question]}.
 */
public final class EmbedExample {
    private EmbedExample() {}

    public static void main(String[] args) {
        String question = args.length > 1 ? args[1] : "Name three prime numbers.";
        try (Model model = Trillium.load(Path.of(args[0]), LoadOptions.defaults());
             Session session = model.newSession()) {
            System.out.println("model: " + model.info().architecture());
            GenerationRequest request = GenerationRequest.builder()
                    .messages(List.of(
                            Message.system("You are a concise assistant."),
                            Message.user(question)))
                    .sampler(Samplers.topP(0.95).temperature(0.7))
                    .maxTokens(64)
                    .seed(42)
                    .build();
            // The listener runs on the generating thread; token texts are safe to print as they come.
            GenerationResult result = session.generate(request, token -> System.out.print(token.text()));
            System.out.println();
            Metrics m = result.metrics();
            System.out.printf("finish: %s, prompt: %d tokens (%.1f tok/s), generated: %d tokens (%.1f tok/s), first token after %d ms%n",
                    result.finishReason(), m.promptTokens(), m.promptTokensPerSecond(),
                    m.generatedTokens(), m.decodeTokensPerSecond(), m.timeToFirstToken().toMillis());
        }
    }
}
