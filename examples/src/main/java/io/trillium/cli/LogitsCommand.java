package io.trillium.cli;

import io.trillium.model.LanguageModel;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.concurrent.Callable;

/** {@code trillium logits --model FILE (--prompt TEXT | --prompt-ids "ID ...") --out OUT.f32 [--force] [--threads N] [--exact]}. */
@Command(name = "logits", mixinStandardHelpOptions = true,
        description = {"Run the prompt through the model and write the last position's logits",
                "as raw little-endian float32 (vocab values, indexed by token id), like the fixtures' .f32 files."})
final class LogitsCommand implements Callable<Integer> {

    @Mixin
    ModelOptions model;

    @Mixin
    TierOptions tiers;

    @picocli.CommandLine.ArgGroup(exclusive = true, multiplicity = "1")
    PromptOptions prompt;

    @Option(names = "--out", required = true, paramLabel = "OUT.f32", description = "output file (must not exist unless --force)")
    Path out;

    @Option(names = "--force", description = "overwrite OUT if it exists")
    boolean force;

    @Override
    public Integer call() throws IOException {
        if (Files.exists(out) && !force) {
            throw new IllegalArgumentException(out + " exists; pass --force to overwrite it");
        }
        try (LanguageModel m = model.load(tiers)) {
            int[] ids = prompt.encode(m);
            float[] logits = m.forward(m.newState(ids.length), ids);
            ByteBuffer b = ByteBuffer.allocate(logits.length * 4).order(ByteOrder.LITTLE_ENDIAN);
            b.asFloatBuffer().put(logits);
            // write beside, then move: a failed run leaves no half-written OUT
            Path tmp = out.toAbsolutePath().resolveSibling(out.getFileName() + ".part");
            Files.write(tmp, b.array());
            Files.move(tmp, out, StandardCopyOption.REPLACE_EXISTING);
            int top = ModelOptions.argmax(logits);
            System.out.printf("%d tokens -> %s (%d float32 logits); argmax %d (logit %.4f)%n", ids.length, out,
                    logits.length, top, logits[top]);
            tiers.print(System.err, m);
            return 0;
        }
    }
}
