/**
 * What a subcommand is: a name, a summary, an option table that generates parsing, `--help` and
 * the README's flag table, and a run function that receives the table's typed values.
 *
 * @module
 */
import { type OptionSpec, type OptionValuesOf, parseOptions } from "./options.ts";

/** The process environment as commands see it (library code never reads it itself). */
export type Env = Readonly<Record<string, string | undefined>>;

/** What a command sees besides its parsed flags. */
export interface CommandContext {
  /** Names of the flags given on the command line (as opposed to defaults). */
  readonly given: ReadonlySet<string>;
  /** The process environment. */
  readonly env: Env;
}

/** One subcommand of `main.ts`. */
export interface Command {
  readonly name: string;
  /** One line for the command list. */
  readonly summary: string;
  readonly options: readonly OptionSpec[];
  /** The rows README.md's flag table lists (default `options`; `tune` lists its own only). */
  readonly documentedOptions?: readonly OptionSpec[];
  /** More about the command, shown by `--help` after the summary. */
  readonly details?: string;
  /** The usage line's arguments after `[flags]` (`PATH...`), for commands that take some. */
  readonly args?: string;
  /** Parses `argv` against `options` and runs the command; resolves to the exit code. */
  execute(argv: readonly string[], env: Env): Promise<number>;
}

/** A command definition whose `run` takes the typed values of its own table. */
export interface CommandSpec<T extends readonly OptionSpec[]> {
  readonly name: string;
  readonly summary: string;
  readonly options: T;
  readonly documentedOptions?: readonly OptionSpec[];
  readonly details?: string;
  run(values: OptionValuesOf<T>, context: CommandContext): Promise<number>;
}

/** Builds a {@linkcode Command} from its typed definition. */
export function defineCommand<const T extends readonly OptionSpec[]>(
  spec: CommandSpec<T>,
): Command {
  return {
    name: spec.name,
    summary: spec.summary,
    options: spec.options,
    documentedOptions: spec.documentedOptions,
    details: spec.details,
    execute(argv, env) {
      const given = new Set<string>();
      const values = parseOptions(spec.options, argv, { given });
      return spec.run(values, { given, env });
    },
  };
}
