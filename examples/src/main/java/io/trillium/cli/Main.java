package io.trillium.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code trillium} command-line tool. */
@Command(name = "trillium", mixinStandardHelpOptions = true, version = "trillium 0.1.0",
        description = "Run trillion-parameter Mixture-of-Experts models from Java.",
        subcommands = {InspectCommand.class, DumpTensorCommand.class, TokenizeCommand.class, TemplateCommand.class,
                LogitsCommand.class, GenerateCommand.class, ChatCommand.class, DemoCommand.class, BenchCommand.class,
                SynthCommand.class, PlanCommand.class, BenchTierCommand.class, RepackCommand.class,
                ProfileCommand.class, ServeCommand.class,
                CommandLine.HelpCommand.class})
public final class Main {

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs the CLI and returns its exit code (used by tests). */
    public static int run(String... args) {
        CommandLine cl = new CommandLine(new Main());
        cl.setExecutionExceptionHandler((ex, cmd, parsed) -> {
            // A bad input is the user's to fix: one clear line, no stack trace.
            cmd.getErr().println("trillium " + cmd.getCommandName() + ": " + ex.getMessage());
            if (Boolean.getBoolean("trillium.debug")) {
                ex.printStackTrace(cmd.getErr());
            }
            return 1;
        });
        return cl.execute(args);
    }
}
