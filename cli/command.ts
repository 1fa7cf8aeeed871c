import type { OptionSpec, OptionValues } from "./options.ts";

/** What a command sees besides its parsed flags. */
export interface CommandContext {
  /** Names of the flags given on the command line (as opposed to defaults). */
  readonly given: ReadonlySet<string>;
  /** The process environment (library code never reads it itself). */
  readonly env: Readonly<Record<string, string | undefined>>;
}

/** One subcommand of `main.ts`: its option table generates parsing and `--help`. */
export interface Command {
  readonly name: string;
  /** One line for the command list. */
  readonly summary: string;
  readonly options: readonly OptionSpec[];
  /** Runs the command with validated options; resolves to the process exit code. */
  run(values: OptionValues, context: CommandContext): Promise<number>;
}

/**
 * A command whose issue has not landed yet: it says so in one line and exits 2 — no fake output.
 */
export function notBuiltYet(
  name: string,
  summary: string,
  options: readonly OptionSpec[] = [],
): Command {
  return {
    name,
    summary,
    options,
    run() {
      console.error(`error: "${name}" is not built yet`);
      return Promise.resolve(2);
    },
  };
}
