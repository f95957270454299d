package io.trillium.api;

import io.trillium.backend.CpuBackend;
import io.trillium.chat.ChatTemplate;
import io.trillium.chat.ChatTemplateException;
import io.trillium.chat.ChatTemplates;
import io.trillium.gguf.GgufFile;
import io.trillium.gguf.GgufFormatException;
import io.trillium.gguf.GgufMetadata;
import io.trillium.model.LanguageModel;
import io.trillium.model.ModelConfig;
import io.trillium.model.Models;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Objects;

/**
 * Entry point: opens GGUF models.
 *
 * <pre>{@code
 * try (Model model = Trillium.load(path, LoadOptions.defaults());
 *      Session session = model.newSession()) {
 *     GenerationResult r = session.generate(GenerationRequest.builder().prompt("Hello").maxTokens(32).build());
 * }
 * }</pre>
 */
public final class Trillium {
    private Trillium() {
    }

    /**
     * Loads a model (the first file of a split set opens all parts).
     *
     * @throws ResourceException          the file cannot be read
     * @throws ModelFormatException       the file is not valid GGUF or lacks required metadata
     * @throws UnsupportedModelException  the architecture is not one Trillium runs
     */
    public static Model load(Path file, LoadOptions options) {
        Objects.requireNonNull(file, "file");
        Objects.requireNonNull(options, "options");
        ModelInfo info;
        GgufMetadata metadata;
        try (GgufFile gguf = GgufFile.open(file)) {
            metadata = gguf.metadata();
            String arch = metadata.getString("general.architecture", "?");
            if (!ModelConfig.SUPPORTED.contains(arch)) {
                throw new UnsupportedModelException("unsupported architecture '" + arch + "' in " + file
                        + " (supported: " + ModelConfig.SUPPORTED + ")");
            }
            info = ModelInfo.of(gguf, ModelConfig.fromGguf(metadata));
        } catch (GgufFormatException e) {
            throw new ModelFormatException("malformed model file " + file + ": " + e.getMessage(), e);
        } catch (IOException | UncheckedIOException e) {
            throw new ResourceException("cannot read model file " + file + ": " + e.getMessage(), e);
        }
        LanguageModel lm;
        try {
            lm = Models.load(file, new CpuBackend(options.threads(), options.quantizedActivations()));
        } catch (GgufFormatException e) {
            throw new ModelFormatException("malformed model file " + file + ": " + e.getMessage(), e);
        } catch (IOException | UncheckedIOException e) {
            throw new ResourceException("cannot read model file " + file + ": " + e.getMessage(), e);
        }
        ChatTemplate template;
        try {
            template = ChatTemplates.forModel(metadata);
        } catch (ChatTemplateException | IllegalArgumentException e) {
            template = null;   // chat requests will report it
        }
        return new Model(lm, info, template, options);
    }
}
