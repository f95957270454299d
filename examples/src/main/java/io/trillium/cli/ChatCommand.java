package io.trillium.cli;

import io.trillium.api.ContextOverflowException;
import io.trillium.api.GenerationRequest;
import io.trillium.api.GenerationResult;
import io.trillium.api.Metrics;
import io.trillium.api.Model;
import io.trillium.api.Session;
import io.trillium.chat.Message;
import io.trillium.sample.Sampler;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * {@code trillium chat [--model FILE] [sampling flags] [--system TEXT]}: an interactive conversation on stdin using
 * the model's chat template. One session serves all turns, so each turn only feeds its new tokens.
 */
@Command(name = "chat", mixinStandardHelpOptions = true,
        description = {"Chat with a model on the terminal (its chat template; chatml when it has none).",
                "Commands: /reset clears the conversation, /stats prints the last turn's metrics, /exit (or EOF) quits.",
                "Without --model: the demo model (random weights, see `trillium demo`)."})
final class ChatCommand implements Callable<Integer> {

    @Option(names = "--model", paramLabel = "FILE", description = "GGUF model file; default: the demo model")
    Path modelFile;

    @Option(names = "--threads", paramLabel = "N", description = "CPU threads (default: all processors)")
    Integer threads;

    @Mixin
    NumericsOptions numerics;

    @Option(names = "--system", paramLabel = "TEXT", description = "system prompt")
    String system;

    @Option(names = "--max-tokens", paramLabel = "N", defaultValue = "512", description = "tokens per reply (default ${DEFAULT-VALUE})")
    int maxTokens;

    @Option(names = "--cache-dir", paramLabel = "DIR", description = "demo model directory when no --model")
    Path cacheDir;

    @Mixin
    SamplingOptions sampling;

    @Mixin
    TierOptions tiers;

    @Override
    public Integer call() throws IOException {
        Path file = modelFile;
        if (file == null) {
            file = DemoCommand.ensureModel(DemoCommand.cacheDir(cacheDir));
            System.err.println(DemoCommand.RANDOM_NOTE);
        }
        Sampler sampler = sampling.sampler();
        long seed = sampling.seed();
        PrintStream out = System.out;
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        try (Model m = ApiSupport.load(file, threads, numerics.numerics(), tiers);
             Session s = m.newSession(ApiSupport.contextLength(m, 0))) {
            List<Message> conversation = new ArrayList<>();
            reset(conversation);
            Metrics last = null;
            int turn = 0;
            out.println("chat with " + file.getFileName() + "; /reset, /stats, /exit");
            while (true) {
                out.print("> ");
                out.flush();
                String line = in.readLine();
                if (line == null || line.strip().equals("/exit")) {
                    out.println();
                    return 0;
                }
                String text = line.strip();
                if (text.isEmpty()) {
                    continue;
                }
                if (text.equals("/reset")) {
                    reset(conversation);
                    out.println("(conversation cleared)");
                    continue;
                }
                if (text.equals("/stats")) {
                    if (last == null) {
                        out.println("(no reply yet)");
                    } else {
                        ApiSupport.printMetrics(out, last);
                    }
                    out.print(m.tierReport().format());
                    continue;
                }
                conversation.add(Message.user(text));
                GenerationRequest req = GenerationRequest.builder().messages(conversation).maxTokens(maxTokens)
                        .sampler(sampler).seed(seed + turn++).build();
                GenerationResult r;
                try {
                    r = s.generate(req, ApiSupport.streamTo(out));
                } catch (ContextOverflowException e) {
                    conversation.removeLast();
                    out.println("(" + e.getMessage() + "; /reset starts over)");
                    continue;
                }
                ApiSupport.write(out, "\n");
                conversation.add(Message.assistant(r.text()));
                last = r.metrics();
                ApiSupport.printTiers(System.err, tiers, m);
            }
        }
    }

    private void reset(List<Message> conversation) {
        conversation.clear();
        if (system != null) {
            conversation.add(Message.system(system));
        }
    }
}
