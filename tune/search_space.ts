/**
 * The search space of a study: train flags as distributions. `lr` log-uniform on [1e-6, 1e-4]
 * unless told otherwise; named built-in ranges for the other usual parameters; a JSON file
 * defining any train flag as float/int (`log`, `step`) or categorical; `--fixed` pins flags for
 * every trial (what an earlier study settled); `--lr_grid LOW:HIGH:FACTOR` is the exponential
 * grid of learning rates (low, then ×factor while ≤ high), and the grid's points.
 *
 * @module
 */
import { excerptValue, InputError } from "../core/mod.ts";
import {
  categoricalDist,
  type Choice,
  type Distribution,
  floatDist,
  gridValues,
  intDist,
  type ParamValue,
} from "./distributions.ts";

/** The built-in range of each parameter a study usually searches. */
export const BUILTIN_SPACE: Readonly<Record<string, Distribution>> = {
  lr: floatDist(1e-6, 1e-4, { log: true }),
  weight_decay: floatDist(0, 0.3),
  warmup_ratio: floatDist(0, 0.2),
  max_grad_norm: floatDist(0.5, 2),
  batch_size: categoricalDist([8, 16, 32]),
  gradient_accumulation_steps: categoricalDist([1, 2, 4]),
  lr_scheduler: categoricalDist(["linear", "cosine", "constant_with_warmup"]),
  max_seq_length: categoricalDist([64, 128]),
  epochs: categoricalDist([2, 3, 4]),
};

/**
 * The demo's learning-rate range: the offline demo's tiny, randomly initialised model learns at
 * rates about 30× those that fine-tune a pretrained DistilBERT, and (with `tune --demo`'s 750
 * steps) at every rate of this range; outside it most runs stay at the majority baseline.
 */
export const DEMO_LR: Distribution = floatDist(5e-4, 3e-3, { log: true });

/** A search space: parameter name → distribution, in suggestion order. */
export type SearchSpace = ReadonlyMap<string, Distribution>;

function bad(file: string, key: string, problem: string): InputError {
  return new InputError(`Invalid --search_space "${file}": "${key}" ${problem}`);
}

/** What a train flag accepts (its row of the train option table), as a search space is checked. */
export interface FlagLimits {
  readonly type: "string" | "int" | "float" | "boolean" | "choice";
  readonly choices?: readonly string[];
  readonly min?: number;
  readonly minExclusive?: boolean;
  readonly max?: number;
  readonly maxExclusive?: boolean;
}

/** Why `value` is not a value of the flag `--name`, or null when it is one. */
function flagValueProblem(name: string, limits: FlagLimits, value: unknown): string | null {
  const flag = `--${name}`;
  switch (limits.type) {
    case "boolean":
      return typeof value === "boolean"
        ? null
        : `${excerptValue(value)} is not a boolean (${flag})`;
    case "string":
      return typeof value === "string" ? null : `${excerptValue(value)} is not text (${flag})`;
    case "choice":
      return limits.choices?.includes(value as string)
        ? null
        : `${excerptValue(value)} is not one of ${limits.choices?.join(", ")} (${flag})`;
  }
  if (typeof value !== "number" || !Number.isFinite(value)) {
    return `${excerptValue(value)} is not a number (${flag})`;
  }
  if (limits.type === "int" && !Number.isInteger(value)) {
    return `${value} is not an integer (${flag} takes integers)`;
  }
  const { min, max } = limits;
  if (min !== undefined && (limits.minExclusive ? value <= min : value < min)) {
    return `${value} is out of range for ${flag} (it must be ${
      limits.minExclusive ? ">" : ">="
    } ${min})`;
  }
  if (max !== undefined && (limits.maxExclusive ? value >= max : value > max)) {
    return `${value} is out of range for ${flag} (it must be ${
      limits.maxExclusive ? "<" : "<="
    } ${max})`;
  }
  return null;
}

/** Every value `d` can take stays within the flag's limits (checked at its ends and choices). */
function checkAgainstFlag(name: string, limits: FlagLimits, d: Distribution): string | null {
  if (d.kind === "categorical") {
    for (const c of d.choices) {
      const problem = flagValueProblem(name, limits, c);
      if (problem) return `choice ${problem}`;
    }
    return null;
  }
  if (limits.type !== "int" && limits.type !== "float") {
    return `is a ${d.kind} range, but --${name} takes ${
      limits.type === "choice" ? "one of " + limits.choices?.join(", ") : limits.type
    } values: use "type": "categorical"`;
  }
  if (limits.type === "int" && d.kind === "float") {
    return `is a float range, but --${name} takes integers: use "type": "int"`;
  }
  for (const [end, v] of [["low", d.low], ["high", d.high]] as const) {
    const problem = flagValueProblem(name, limits, v);
    if (problem) return `${end} ${problem}`;
  }
  return null;
}

/**
 * Parses a `--search_space` JSON object: `{"lr": {"type": "float", "low": 1e-6, "high": 1e-4,
 * "log": true}, "batch_size": {"type": "categorical", "choices": [16, 32]}, "weight_decay":
 * "default"}`. Keys must be train flags (`flags`, with what each accepts): every value a range
 * can take must be one the flag takes, so that a bad space is refused before any trial. Errors
 * name the file and the key.
 */
export function parseSearchSpace(
  json: unknown,
  options: { file: string; flags: ReadonlyMap<string, FlagLimits> },
): Map<string, Distribution> {
  const { file } = options;
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw new InputError(`Invalid --search_space "${file}": expected a JSON object`);
  }
  const space = new Map<string, Distribution>();
  for (const [key, spec] of Object.entries(json)) {
    const limits = options.flags.get(key);
    if (!limits) throw bad(file, key, "is not a train flag");
    if (spec === "default") {
      const builtin = BUILTIN_SPACE[key];
      if (!builtin) throw bad(file, key, "has no built-in range: give one");
      space.set(key, builtin);
      continue;
    }
    if (typeof spec !== "object" || spec === null) {
      throw bad(file, key, 'must be an object or "default"');
    }
    const s = spec as Record<string, unknown>;
    try {
      if (s.type === "float") {
        space.set(
          key,
          floatDist(Number(s.low), Number(s.high), {
            log: s.log === true,
            step: (s.step as number) ?? null,
          }),
        );
      } else if (s.type === "int") {
        space.set(
          key,
          intDist(Number(s.low), Number(s.high), {
            log: s.log === true,
            step: (s.step as number) ?? 1,
          }),
        );
      } else if (s.type === "categorical") {
        if (!Array.isArray(s.choices)) throw new RangeError("needs a choices array");
        space.set(key, categoricalDist(s.choices as Choice[]));
      } else {
        throw new RangeError('needs "type": "float", "int" or "categorical"');
      }
    } catch (err) {
      throw bad(file, key, (err as Error).message);
    }
    const problem = checkAgainstFlag(key, limits, space.get(key)!);
    if (problem) throw bad(file, key, problem);
  }
  return space;
}

/** `LOW:HIGH:FACTOR` → low, low·f, low·f², … while ≤ high (12 significant digits). */
export function parseLrGrid(text: string): number[] {
  const parts = text.split(":").map(Number);
  const [low, high, factor] = parts;
  if (parts.length !== 3 || !(low > 0) || !(high >= low) || !(factor > 1)) {
    throw new InputError(
      `Invalid value for --lr_grid: "${text}" is not LOW:HIGH:FACTOR with 0 < LOW <= HIGH and FACTOR > 1`,
    );
  }
  const out: number[] = [];
  for (let v = low; v <= high * (1 + 1e-9); v *= factor) out.push(Number(v.toPrecision(12)));
  return out;
}

/**
 * Every point of the grid over `space` (each parameter's `values` where given, else its
 * distribution's finite values), first parameter slowest.
 */
export function gridPoints(
  space: SearchSpace,
  values: ReadonlyMap<string, readonly ParamValue[]> = new Map(),
): Record<string, ParamValue>[] {
  let points: Record<string, ParamValue>[] = [{}];
  for (const [name, d] of space) {
    const given = values.get(name);
    const choices = given ? [...given] : gridValues(d);
    if (choices === null) {
      throw new InputError(
        `Cannot make a grid over "${name}": a float range has no grid; give it a "step", ` +
          `choices, or (for lr) --lr_grid LOW:HIGH:FACTOR`,
      );
    }
    points = points.flatMap((p) => choices.map((v) => ({ ...p, [name]: v })));
  }
  return points;
}

/** The study's space: the defaults or the file's, with `--lr_grid` and without the fixed flags. */
export function studySpace(options: {
  fromFile: Map<string, Distribution> | null;
  lrGrid: number[] | null;
  fixed: ReadonlySet<string>;
  /** The default lr range is the demo's ({@linkcode DEMO_LR}). */
  demo?: boolean;
}): Map<string, Distribution> {
  const space = new Map(options.fromFile ?? [["lr", options.demo ? DEMO_LR : BUILTIN_SPACE.lr]]);
  // The grid's points are the grid sampler's; the journal records lr as the log-scale float it
  // is, so that a wider grid later is the same parameter (a categorical of other choices is not).
  if (options.lrGrid) {
    space.set("lr", floatDist(options.lrGrid[0], options.lrGrid.at(-1)!, { log: true }));
  }
  for (const name of options.fixed) space.delete(name);
  return space;
}
