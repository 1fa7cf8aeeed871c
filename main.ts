/**
 * mrpc-tune: the one CLI entry point. Parses argv, validates it through each command's option
 * table, and dispatches. `train` is the default when the first argument is a flag, so
 * `main.ts --checkpoint_dir models --lr 3e-5 --batch_size 16` trains.
 *
 * @module
 */
import { COMMANDS, formatHelp, UsageError, versionLine } from "./cli/mod.ts";
import {
  describeFailure,
  exitCodeOf,
  InputError,
  Interrupted,
  isNetworkError,
  osCause,
  RunError,
} from "./core/mod.ts";

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
    "Run `mrpc-tune <command> --help` for a command's flags, `mrpc-tune --version` for the build.",
    "",
  ].join("\n");
}

/**
 * One line for an error that reached the top: ours carry their own message; an operating-system
 * error (a full disk, a refused permission) and a network error are said as what they are, the
 * runtime's message naming the operation and the path (`Permission denied (os error 13): mkdir
 * 'models'`); anything else is a bug, named as such.
 */
export function describeError(err: unknown): string {
  const os = osCause(err) !== null ||
    (err instanceof Error && Object.values(Deno.errors).some((E) => err instanceof E));
  if (os) return (err as Error).message.split("\n")[0];
  const network = err instanceof TypeError &&
    /fetch failed|error sending request|connect|dns/i.test(err.message);
  if (network || (isNetworkError(err) && !(err instanceof TypeError))) {
    return `network error: ${describeFailure(err, 0)}`;
  }
  const text = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return `${text.split("\n")[0]} (an internal error: run with MRPC_TUNE_DEBUG=1 for the stack, ` +
    `and please report it)`;
}

/** Runs the CLI on `argv` and resolves to the process exit code. */
export async function runCli(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>> = Deno.env.toObject(),
): Promise<number> {
  if (argv.length === 0 || argv[0] === "--help" || argv[0] === "-h" || argv[0] === "help") {
    console.log(topLevelHelp());
    return argv.length === 0 ? 2 : 0;
  }
  if (argv[0] === "--version" || argv[0] === "version") {
    console.log(await versionLine(env));
    return 0;
  }
  const [name, rest] = argv[0].startsWith("--") ? ["train", argv] : [argv[0], argv.slice(1)];
  const command = COMMANDS.find((c) => c.name === name);
  try {
    if (!command) throw new UsageError(`Unknown command "${name}" (try --help)`);
    if (rest.includes("--help") || rest.includes("-h")) {
      const about = command.details ? `${command.summary}\n\n${command.details}` : command.summary;
      const usage = `mrpc-tune ${name} [flags]${command.args ? ` ${command.args}` : ""}`;
      console.log(formatHelp(usage, about, command.options));
      return 0;
    }
    return await command.execute(rest, env);
  } catch (err) {
    return reportError(err, env);
  }
}

/**
 * Prints the one line for an error that ended a command (its stack too when MRPC_TUNE_DEBUG=1)
 * and returns the exit code: 2 bad input, 1 a failure, 130/143 an interrupted run.
 */
export function reportError(
  err: unknown,
  env: Readonly<Record<string, string | undefined>>,
): number {
  if (err instanceof Interrupted) {
    console.error(err.message);
    return err.exitCode;
  }
  const ours = err instanceof InputError || err instanceof RunError;
  console.error(`error: ${ours ? (err as Error).message : describeError(err)}`);
  if (env.MRPC_TUNE_DEBUG === "1" && err instanceof Error && err.stack) console.error(err.stack);
  return exitCodeOf(err);
}

if (import.meta.main) {
  Deno.exit(await runCli(Deno.args));
}
