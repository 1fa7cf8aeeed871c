/**
 * Table-driven command-line options: one table per command generates parsing, validation and
 * `--help`. Flags are snake_case (`--checkpoint_dir`, `--lr`, `--batch_size`), as in the original
 * project and Hugging Face.
 *
 * @example
 * ```ts
 * const table = [{ name: "lr", type: "float", default: 3e-5, min: 0, minExclusive: true,
 *   description: "Peak learning rate" }] as const;
 * const opts = parseOptions(table, ["--lr", "1e-4"]); // { lr: 1e-4 }
 * ```
 *
 * @module
 */
import { InputError } from "../core/mod.ts";

/** The kind of value a flag takes. */
export type OptionType = "string" | "int" | "float" | "boolean" | "choice";

/** One row of a command's option table. */
export interface OptionSpec {
  /** Flag name without the leading `--`, snake_case. */
  readonly name: string;
  readonly type: OptionType;
  /** Value used when the flag is absent; omit for "no default" (the value is then `undefined`). */
  readonly default?: string | number | boolean;
  /** Allowed values for `choice`. */
  readonly choices?: readonly string[];
  /** Lower bound for numbers (inclusive unless `minExclusive`). */
  readonly min?: number;
  readonly minExclusive?: boolean;
  /** Upper bound for numbers (inclusive unless `maxExclusive`). */
  readonly max?: number;
  readonly maxExclusive?: boolean;
  /** Placeholder shown in help, e.g. `DIR`. */
  readonly metavar?: string;
  /** One-line description for `--help`. */
  readonly description: string;
}

/** Parsed values keyed by flag name (any table). */
export type OptionValues = Record<string, string | number | boolean | undefined>;

/** The value type of one option row: numbers, booleans, one of the choices, or a string. */
export type OptionValueOf<S> = S extends { readonly type: "int" | "float" } ? number
  : S extends { readonly type: "boolean" } ? boolean
  : S extends { readonly type: "choice"; readonly choices: readonly (infer C)[] } ? C
  : string;

type WithDefault<S> = S extends { readonly default: string | number | boolean } ? S : never;
type Flatten<T> = { readonly [K in keyof T]: T[K] };

/**
 * The typed values of a table declared `as const satisfies readonly OptionSpec[]`: a row with a
 * default is always present, one without may be `undefined` (an optional key).
 *
 * @example
 * ```ts
 * const T = [{ name: "lr", type: "float", default: 3e-5, description: "LR" },
 *   { name: "resume", type: "string", description: "Path" }] as const satisfies readonly OptionSpec[];
 * type V = OptionValuesOf<typeof T>; // { readonly lr: number; readonly resume?: string }
 * ```
 */
export type OptionValuesOf<T extends readonly OptionSpec[]> = Flatten<
  & { [S in T[number] as S extends WithDefault<S> ? S["name"] : never]: OptionValueOf<S> }
  & { [S in T[number] as S extends WithDefault<S> ? never : S["name"]]?: OptionValueOf<S> }
>;

/** Bad command-line input: main.ts prints the message on one line and exits with code 2. */
export class UsageError extends InputError {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

function parseNumber(spec: OptionSpec, raw: string): number {
  const flag = `--${spec.name}`;
  const trimmed = raw.trim();
  const value = trimmed === "" ? NaN : Number(trimmed);
  if (spec.type === "int") {
    if (!/^[+-]?\d+$/.test(trimmed) || !Number.isSafeInteger(value)) {
      throw new UsageError(`Invalid value for ${flag}: "${raw}" is not an integer`);
    }
  } else if (!Number.isFinite(value)) {
    throw new UsageError(`Invalid value for ${flag}: "${raw}" is not a finite number`);
  }
  if (spec.min !== undefined) {
    const bad = spec.minExclusive ? value <= spec.min : value < spec.min;
    if (bad) {
      const op = spec.minExclusive ? ">" : ">=";
      throw new UsageError(`Invalid value for ${flag}: "${raw}" must be ${op} ${spec.min}`);
    }
  }
  if (spec.max !== undefined) {
    const bad = spec.maxExclusive ? value >= spec.max : value > spec.max;
    if (bad) {
      const op = spec.maxExclusive ? "<" : "<=";
      throw new UsageError(`Invalid value for ${flag}: "${raw}" must be ${op} ${spec.max}`);
    }
  }
  return value;
}

function parseBoolean(spec: OptionSpec, raw: string): boolean {
  const v = raw.toLowerCase();
  if (v === "true" || v === "1" || v === "yes") return true;
  if (v === "false" || v === "0" || v === "no") return false;
  throw new UsageError(`Invalid value for --${spec.name}: "${raw}" is not true or false`);
}

/** Converts one raw string to the typed value of `spec`, or throws a {@linkcode UsageError}. */
export function convertValue(spec: OptionSpec, raw: string): string | number | boolean {
  switch (spec.type) {
    case "int":
    case "float":
      return parseNumber(spec, raw);
    case "boolean":
      return parseBoolean(spec, raw);
    case "choice":
      if (!spec.choices?.includes(raw)) {
        throw new UsageError(
          `Invalid value for --${spec.name}: "${raw}" is not one of ${spec.choices?.join(", ")}`,
        );
      }
      return raw;
    case "string":
      if (raw === "") throw new UsageError(`Invalid value for --${spec.name}: empty string`);
      return raw;
  }
}

/**
 * Parses `argv` against `table`. Accepts `--flag value`, `--flag=value`, and bare `--flag` for
 * booleans. Unknown flags, missing values, repeated flags and bad values throw a
 * {@linkcode UsageError} naming the flag; so do positional arguments, unless
 * `options.positionals` collects them. `options.given` collects the flags present.
 */
export function parseOptions<const T extends readonly OptionSpec[]>(
  table: T,
  argv: readonly string[],
  options: { given?: Set<string>; positionals?: string[] } = {},
): OptionValuesOf<T> {
  const byName = new Map(table.map((s) => [s.name, s]));
  const values: OptionValues = {};
  const seen = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if ((!arg.startsWith("--") || arg === "--") && options.positionals) {
      if (arg !== "--") options.positionals.push(arg);
      continue;
    }
    if (!arg.startsWith("--") || arg === "--") {
      throw new UsageError(`Unexpected argument "${arg}" (flags start with --)`);
    }
    const eq = arg.indexOf("=");
    const name = arg.slice(2, eq === -1 ? undefined : eq);
    const spec = byName.get(name);
    if (!spec) {
      const hint = byName.has(name.replaceAll("-", "_"))
        ? ` (did you mean --${name.replaceAll("-", "_")}?)`
        : "";
      throw new UsageError(`Unknown flag --${name}${hint}`);
    }
    if (seen.has(name)) throw new UsageError(`Flag --${name} given more than once`);
    seen.add(name);
    options.given?.add(name);
    let raw: string;
    if (eq !== -1) {
      raw = arg.slice(eq + 1);
    } else if (spec.type === "boolean") {
      const next = argv[i + 1];
      if (next !== undefined && /^(true|false)$/i.test(next)) {
        raw = next;
        i++;
      } else {
        raw = "true";
      }
    } else {
      const next = argv[i + 1];
      if (next === undefined || (next.startsWith("--") && next.length > 2)) {
        throw new UsageError(`Missing value for --${name}`);
      }
      raw = next;
      i++;
    }
    values[name] = convertValue(spec, raw);
  }
  for (const spec of table) {
    if (!(spec.name in values)) values[spec.name] = spec.default;
  }
  // Every row was converted by its spec above, so the values have the table's types.
  return values as OptionValuesOf<T>;
}

function formatDefault(v: string | number | boolean): string {
  if (typeof v === "number" && v !== 0 && Math.abs(v) < 1e-3) return v.toExponential();
  return String(v);
}

/** Renders `--help` for a command from its option table. */
export function formatHelp(
  usage: string,
  summary: string,
  table: readonly OptionSpec[],
): string {
  const rows = table.map((s) => {
    const meta = s.type === "boolean"
      ? ""
      : ` ${s.metavar ?? (s.type === "choice" ? s.choices!.join("|") : s.type.toUpperCase())}`;
    const def = s.default === undefined || s.default === false
      ? ""
      : ` (default: ${formatDefault(s.default)})`;
    return [`  --${s.name}${meta}`, `${s.description}${def}`];
  });
  rows.push(["  --help", "Show this help and exit"]);
  const width = Math.min(40, Math.max(...rows.map((r) => r[0].length)) + 2);
  const lines = rows.map(([left, right]) =>
    left.length >= width ? `${left}\n${" ".repeat(width)}${right}` : left.padEnd(width) + right
  );
  return `Usage: ${usage}\n\n${summary}\n\nOptions:\n${lines.join("\n")}\n`;
}

/** Renders an option table as a Markdown table (used to keep README.md in step with `--help`). */
export function formatMarkdown(table: readonly OptionSpec[]): string {
  const head = "| flag | type | default | description |\n|---|---|---|---|";
  const rows = table.map((s) => {
    const type = s.type === "choice" ? s.choices!.join(" \\| ") : s.type;
    const def = s.default === undefined ? "" : `\`${formatDefault(s.default)}\``;
    return `| \`--${s.name}\` | ${type} | ${def} | ${s.description} |`;
  });
  return [head, ...rows].join("\n");
}
