package io.trillium.cli;

import io.trillium.model.LanguageModel;
import picocli.CommandLine.Option;

/**
 * Exactly one of {@code --prompt TEXT} (tokenized as the model's metadata says) and
 * {@code --prompt-ids "ID ID ..."} (ids as they are, no BOS added: a run reproduced token for token
 * against another engine). Used as an exclusive, required picocli argument group.
 */
final class PromptOptions {
    @Option(names = "--prompt", required = true, paramLabel = "TEXT",
            description = "prompt text (tokenized as the model's metadata says: BOS when add_bos_token)")
    String text;

    @Option(names = "--prompt-ids", required = true, paramLabel = "\"ID ID ...\"",
            description = "prompt as token ids separated by spaces or commas, used as they are (no BOS added)")
    String ids;

    /** The ids given with {@code --prompt-ids}, checked against {@code vocab}; null when the prompt is text. */
    int[] ids(int vocab) {
        if (ids == null) {
            return null;
        }
        String[] parts = ids.strip().split("[\\s,]+");
        if (parts.length == 0 || parts[0].isEmpty()) {
            throw new IllegalArgumentException("--prompt-ids: no ids given");
        }
        int[] out = new int[parts.length];
        for (int i = 0; i < parts.length; i++) {
            try {
                out[i] = Integer.parseInt(parts[i]);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("--prompt-ids: '" + parts[i] + "' (position " + i + ") is not a token id");
            }
            if (out[i] < 0 || out[i] >= vocab) {
                throw new IllegalArgumentException("--prompt-ids: id " + out[i] + " (position " + i
                        + ") is outside the model's vocabulary [0, " + vocab + ")");
            }
        }
        return out;
    }

    /** The prompt's ids for {@code m}: the given ids, or the text encoded as {@link ModelOptions#encodePrompt} does. */
    int[] encode(LanguageModel m) {
        int[] given = ids(m.config().vocab());
        return given != null ? given : ModelOptions.encodePrompt(m, text);
    }
}
