/**
 * mrpc-tune: the one CLI entry point. Parses argv, validates it through each command's option
 * table, and dispatches. `train` is the default when the first argument is a flag, so
 * `main.ts --checkpoint_dir models --lr 3e-5 --batch_size 16` trains.
 *
 * @module
 */
import { COMMANDS, formatHelp, UsageError } from "./cli/mod.ts";
import { InputError, RunError } from "./data/mod.ts";

function topLevelHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length)) + 4;
  const rows = COMMANDS.map((c) => `  ${c.name.padEnd(width)}${c.summary}`);
  return [
    "Usage: mrpc-tune <command> [flags]   (train when the first argument is a flag)",
    "",
    "Fine-tune DistilBERT on GLUE MRPC with TensorFlow.js.",
    "",
    "Commands:",
    ...rows,
    "",
    "Run `mrpc-tune <command> --help` for a command's flags.",
    "",
  ].join("\n");
}

/** Runs the CLI on `argv` and resolves to the process exit code. */
export async function runCli(argv: readonly string[]): Promise<number> {
  if (argv.length === 0 || argv[0] === "--help" || argv[0] === "-h" || argv[0] === "help") {
    console.log(topLevelHelp());
    return argv.length === 0 ? 2 : 0;
  }
  const [name, rest] = argv[0].startsWith("--") ? ["train", argv] : [argv[0], argv.slice(1)];
  const command = COMMANDS.find((c) => c.name === name);
  try {
    if (!command) throw new UsageError(`Unknown command "${name}" (try --help)`);
    if (rest.includes("--help") || rest.includes("-h")) {
      console.log(formatHelp(`mrpc-tune ${name} [flags]`, command.summary, command.options));
      return 0;
    }
    return await command.execute(rest, Deno.env.toObject());
  } catch (err) {
    if (err instanceof UsageError || err instanceof InputError) {
      console.error(`error: ${err.message}`);
      return 2;
    }
    if (err instanceof RunError) {
      console.error(`error: ${err.message}`);
      return 1;
    }
    throw err;
  }
}

if (import.meta.main) {
  Deno.exit(await runCli(Deno.args));
}
