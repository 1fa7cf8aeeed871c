/**
 * The search space of a study: train flags as distributions. `lr` log-uniform on [1e-6, 1e-4]
 * unless told otherwise; named built-in ranges for the other usual parameters; a JSON file
 * defining any train flag as float/int (`log`, `step`) or categorical; `--fixed` pins flags for
 * every trial (what an earlier study settled); `--lr_grid LOW:HIGH:FACTOR` is the exponential
 * grid of learning rates (low, then ×factor while ≤ high), and the grid's points.
 *
 * @module
 */
import { InputError } from "../core/mod.ts";
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
 * rates about 30× those that fine-tune a pretrained DistilBERT.
 */
export const DEMO_LR: Distribution = floatDist(1e-4, 1e-2, { log: true });

/** A search space: parameter name → distribution, in suggestion order. */
export type SearchSpace = ReadonlyMap<string, Distribution>;

function bad(file: string, key: string, problem: string): InputError {
  return new InputError(`Invalid --search_space "${file}": "${key}" ${problem}`);
}

/**
 * Parses a `--search_space` JSON object: `{"lr": {"type": "float", "low": 1e-6, "high": 1e-4,
 * "log": true}, "batch_size": {"type": "categorical", "choices": [16, 32]}, "weight_decay":
 * "default"}`. Keys must be train flags (`knownFlags`); errors name the file and the key.
 */
export function parseSearchSpace(
  json: unknown,
  options: { file: string; knownFlags: ReadonlySet<string> },
): Map<string, Distribution> {
  const { file } = options;
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw new InputError(`Invalid --search_space "${file}": expected a JSON object`);
  }
  const space = new Map<string, Distribution>();
  for (const [key, spec] of Object.entries(json)) {
    if (!options.knownFlags.has(key)) throw bad(file, key, "is not a train flag");
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
