package io.trillium.cli;

import io.trillium.tokenizer.Tokenizer;
import io.trillium.tokenizer.TokenizerVectors;
import io.trillium.tokenizer.Tokenizers;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;

/**
 * {@code trillium tokenize --model M [--add-special] [--parse-special] (TEXT | --file F | --decode ID... |
 * --vectors X.inp)}.
 */
@Command(name = "tokenize", mixinStandardHelpOptions = true,
        description = {"Print the token ids of a text (space-separated, one line), or decode ids to text.",
                "--vectors tokenizes every string of a llama.cpp .inp test file and prints the lines of its .out file."})
final class TokenizeCommand implements Callable<Integer> {

    @Option(names = "--model", required = true, paramLabel = "FILE",
            description = "GGUF file, or a safetensors checkpoint directory (tiktoken tokenizer)")
    Path model;

    @Option(names = "--add-special", description = "add BOS/EOS as the vocabulary asks")
    boolean addSpecial;

    @Option(names = "--parse-special", description = "read special-token text such as <s> as that token")
    boolean parseSpecial;

    @Option(names = "--file", paramLabel = "F", description = "tokenize the content of F (UTF-8) instead of TEXT")
    Path file;

    @Option(names = "--decode", arity = "1..*", paramLabel = "ID", description = "print the text of these token ids")
    List<String> decode;

    @Option(names = "--vectors", paramLabel = "X.inp",
            description = "tokenize each string of a llama.cpp vocabulary test file; print one .out line per string")
    Path vectors;

    @Parameters(arity = "0..1", paramLabel = "TEXT", description = "the text to tokenize")
    String text;

    @Override
    public Integer call() throws Exception {
        int modes = (text != null ? 1 : 0) + (file != null ? 1 : 0) + (decode != null ? 1 : 0) + (vectors != null ? 1 : 0);
        if (modes != 1) {
            throw new IllegalArgumentException(modes == 0
                    ? "give TEXT, --file F, --decode ID... or --vectors X.inp"
                    : "give only one of TEXT, --file F, --decode ID... and --vectors X.inp");
        }
        if (!Files.exists(model)) {
            throw new IllegalArgumentException("--model " + model + ": no such file or directory");
        }
        // Read the inputs before loading the model, so that a wrong path fails fast.
        String input = file != null ? read(file, "--file") : text;
        List<String> strings = vectors != null ? TokenizerVectors.parseInputs(read(vectors, "--vectors")) : null;
        int[] ids = decode != null ? parseIds(decode) : null;

        Tokenizer tokenizer = Tokenizers.load(model);
        PrintStream out = System.out;
        if (ids != null) {
            for (int id : ids) {
                if (id < 0 || id >= tokenizer.vocabSize()) {
                    throw new IllegalArgumentException("--decode: token id " + id + " is outside the vocabulary (0.."
                            + (tokenizer.vocabSize() - 1) + ")");
                }
            }
            // Raw UTF-8 bytes: the platform encoding of System.out may not hold every character.
            out.write((tokenizer.decode(ids) + "\n").getBytes(StandardCharsets.UTF_8));
        } else if (strings != null) {
            StringBuilder sb = new StringBuilder();
            for (String s : strings) {
                sb.append(TokenizerVectors.format(tokenizer.encode(s, addSpecial, parseSpecial))).append('\n');
            }
            out.write(sb.toString().getBytes(StandardCharsets.UTF_8));
        } else {
            int[] encoded = tokenizer.encode(input, addSpecial, parseSpecial);
            String line = Arrays.stream(encoded).mapToObj(Integer::toString).collect(Collectors.joining(" "));
            out.write((line + "\n").getBytes(StandardCharsets.UTF_8));
        }
        out.flush();
        return 0;
    }

    private static String read(Path path, String option) {
        try {
            return Files.readString(path, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw new IllegalArgumentException(option + " " + path + ": no such file");
        } catch (CharacterCodingException e) {
            throw new IllegalArgumentException(option + " " + path + ": not valid UTF-8");
        } catch (IOException e) {
            throw new IllegalArgumentException(option + " " + path + ": cannot read (" + e + ")");
        }
    }

    private static int[] parseIds(List<String> args) {
        // Ids may also come as one quoted list: --decode "1 15043 3186".
        String[] parts = String.join(" ", args).trim().split("[\\s,]+");
        int[] ids = new int[parts.length];
        for (int i = 0; i < parts.length; i++) {
            try {
                ids[i] = Integer.parseInt(parts[i]);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("--decode: '" + parts[i] + "' is not a token id");
            }
        }
        return ids;
    }
}
