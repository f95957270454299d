package io.trillium.cli;

import io.trillium.api.Model;
import io.trillium.server.OpenAiServer;
import io.trillium.server.ServerOptions;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.concurrent.Callable;

/**
 * {@code trillium serve --model M [--host 127.0.0.1] [--port 8080] [--max-sessions N] [--queue N] [--api-key K]}:
 * the OpenAI API over one model until interrupted.
 */
@Command(name = "serve", mixinStandardHelpOptions = true,
        description = {"Serve a model over the OpenAI API: /v1/chat/completions, /v1/completions, /v1/models, /health, /metrics.",
                "Concurrent requests decode together in one batched pass; more than --max-sessions wait in a queue of --queue, then get 429."})
final class ServeCommand implements Callable<Integer> {
    @Mixin
    ModelOptions model;   // --model, --threads and the numerics flags, as every forward-pass command takes them

    @Option(names = "--host", paramLabel = "ADDR", defaultValue = "127.0.0.1", description = "address to bind (default ${DEFAULT-VALUE})")
    String host;

    @Option(names = "--port", paramLabel = "N", defaultValue = "8080", description = "port (default ${DEFAULT-VALUE}; 0: any free one)")
    int port;

    @Option(names = "--max-sessions", paramLabel = "N", defaultValue = "8", description = "requests generating at once (default ${DEFAULT-VALUE})")
    int maxSessions;

    @Option(names = "--queue", paramLabel = "N", defaultValue = "64", description = "requests waiting beyond those (default ${DEFAULT-VALUE}); then 429")
    int queue;

    @Option(names = "--api-key", paramLabel = "KEY", description = "bearer token /v1/* requires (default: none)")
    String apiKey;

    @Option(names = "--model-id", paramLabel = "ID", description = "the model's name in requests and /v1/models (default: the file name without .gguf)")
    String modelId;

    @Option(names = "--ctx", paramLabel = "N", defaultValue = "0",
            description = "context per session in tokens (default: the model's, at most " + ApiSupport.DEFAULT_CONTEXT + ")")
    int contextLength;

    @Option(names = "--max-tokens", paramLabel = "N", defaultValue = "0", description = "most tokens one request may generate (default: the context)")
    int maxTokens;

    @Option(names = "--max-body", paramLabel = "BYTES", defaultValue = "4194304", description = "largest request body (default ${DEFAULT-VALUE})")
    int maxBody;

    @Mixin
    TierOptions tiers;

    @Override
    public Integer call() throws Exception {
        Path modelFile = model.model;
        String id = modelId != null ? modelId : modelFile.getFileName().toString().replaceFirst("\\.gguf$", "");
        try (Model m = ApiSupport.load(modelFile, model.threads, model.numerics.numerics(), tiers)) {
            int ctx = contextLength > 0 ? contextLength : ApiSupport.contextLength(m, 0);
            ServerOptions options = new ServerOptions(host, port, id, maxSessions, queue, apiKey, ctx, maxBody, maxTokens);
            try (OpenAiServer server = OpenAiServer.start(m, options)) {
                Thread stop = new Thread(server::close, "trillium-serve-stop");   // Ctrl-C: stop serving, free the sessions
                Runtime.getRuntime().addShutdownHook(stop);
                System.err.printf("serving %s as '%s' on %s (%d sessions x %d tokens, queue %d%s)%n", modelFile.getFileName(), id,
                        server.baseUri(), maxSessions, ctx, queue, apiKey == null ? "" : ", API key required");
                try {
                    server.join();
                } catch (InterruptedException e) {
                    System.err.println("stopped");   // an embedding thread interrupted the command
                } finally {
                    try {
                        Runtime.getRuntime().removeShutdownHook(stop);
                    } catch (IllegalStateException e) {
                        // the JVM is already shutting down: the hook runs
                    }
                }
            }
        }
        return 0;
    }
}
