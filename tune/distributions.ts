/**
 * Optuna's parameter distributions, with the JSON form its journal stores
 * (`{"name": "FloatDistribution", "attributes": {"step": null, "low": 1e-06, "high": 0.0001,
 * "log": true}}`) and the internal representation (a categorical's choice index).
 *
 * @module
 */

/** A float in [low, high], optionally on a log scale or a grid of `step`. */
export interface FloatDistribution {
  readonly kind: "float";
  readonly low: number;
  readonly high: number;
  readonly log: boolean;
  readonly step: number | null;
}

/** An integer in [low, high], optionally on a log scale, in multiples of `step` from low. */
export interface IntDistribution {
  readonly kind: "int";
  readonly low: number;
  readonly high: number;
  readonly log: boolean;
  readonly step: number;
}

/** One of `choices` (strings, numbers, booleans or null). */
export interface CategoricalDistribution {
  readonly kind: "categorical";
  readonly choices: readonly Choice[];
}

/** A categorical choice. */
export type Choice = string | number | boolean | null;

/** Any distribution. */
export type Distribution = FloatDistribution | IntDistribution | CategoricalDistribution;

/** A parameter value as a trial sees it. */
export type ParamValue = number | string | boolean | null;

/** A float distribution, checked as Optuna checks it. */
export function floatDist(
  low: number,
  high: number,
  options: { log?: boolean; step?: number | null } = {},
): FloatDistribution {
  const log = options.log ?? false, step = options.step ?? null;
  if (!(low <= high)) throw new RangeError(`low ${low} must not exceed high ${high}`);
  if (log && low <= 0) throw new RangeError(`a log distribution needs low > 0, got ${low}`);
  if (log && step !== null) throw new RangeError("a distribution cannot be log and stepped");
  if (step !== null && !(step > 0)) throw new RangeError(`step must be > 0, got ${step}`);
  return { kind: "float", low, high, log, step };
}

/** An int distribution, checked as Optuna checks it. */
export function intDist(
  low: number,
  high: number,
  options: { log?: boolean; step?: number } = {},
): IntDistribution {
  const log = options.log ?? false, step = options.step ?? 1;
  if (!Number.isInteger(low) || !Number.isInteger(high) || !(low <= high)) {
    throw new RangeError(`int bounds must be integers with low <= high, got ${low}, ${high}`);
  }
  if (log && (low < 1 || step !== 1)) {
    throw new RangeError("a log int distribution needs low >= 1 and step 1");
  }
  if (!Number.isInteger(step) || step < 1) {
    throw new RangeError(`step must be a positive integer, got ${step}`);
  }
  return { kind: "int", low, high, log, step };
}

/** A categorical distribution. */
export function categoricalDist(choices: readonly Choice[]): CategoricalDistribution {
  if (choices.length === 0) throw new RangeError("a categorical distribution needs choices");
  return { kind: "categorical", choices: [...choices] };
}

/** Optuna's JSON text of `d` (what SET_TRIAL_PARAM records carry). */
export function distributionToJson(d: Distribution): string {
  switch (d.kind) {
    case "float":
      return JSON.stringify({
        name: "FloatDistribution",
        attributes: { step: d.step, low: d.low, high: d.high, log: d.log },
      });
    case "int":
      return JSON.stringify({
        name: "IntDistribution",
        attributes: { log: d.log, step: d.step, low: d.low, high: d.high },
      });
    case "categorical":
      return JSON.stringify({
        name: "CategoricalDistribution",
        attributes: { choices: d.choices },
      });
  }
}

/** Reads Optuna's JSON (text or parsed) of a distribution, old names included. */
export function distributionFromJson(json: string | Record<string, unknown>): Distribution {
  const obj = typeof json === "string" ? JSON.parse(json) : json;
  const a = obj.attributes ?? {};
  switch (obj.name) {
    case "FloatDistribution":
      return floatDist(a.low, a.high, { log: a.log ?? false, step: a.step ?? null });
    case "UniformDistribution":
      return floatDist(a.low, a.high);
    case "LogUniformDistribution":
      return floatDist(a.low, a.high, { log: true });
    case "DiscreteUniformDistribution":
      return floatDist(a.low, a.high, { step: a.q });
    case "IntDistribution":
      return intDist(a.low, a.high, { log: a.log ?? false, step: a.step ?? 1 });
    case "IntUniformDistribution":
      return intDist(a.low, a.high, { step: a.step ?? 1 });
    case "IntLogUniformDistribution":
      return intDist(a.low, a.high, { log: true });
    case "CategoricalDistribution":
      return categoricalDist(a.choices);
    default:
      throw new Error(`Unknown Optuna distribution "${obj.name}"`);
  }
}

/** The journal's internal value of `value` (a categorical's choice index). */
export function toInternal(d: Distribution, value: ParamValue): number {
  if (d.kind !== "categorical") return value as number;
  const i = d.choices.findIndex((c) => c === value || (Number.isNaN(c) && Number.isNaN(value)));
  if (i === -1) {
    throw new RangeError(`${JSON.stringify(value)} is not one of ${JSON.stringify(d.choices)}`);
  }
  return i;
}

/** The value a trial sees for the journal's internal `internal`. */
export function toExternal(d: Distribution, internal: number): ParamValue {
  if (d.kind === "categorical") return d.choices[internal];
  return d.kind === "int" ? Math.round(internal) : internal;
}

/**
 * Whether two distributions of one parameter agree, as Optuna 3.1 checks it: the same kind, the
 * same log setting for floats and ints, the same choices for categoricals.
 */
export function compatible(a: Distribution, b: Distribution): boolean {
  if (a.kind !== b.kind) return false;
  if (a.kind !== "categorical" && b.kind !== "categorical" && a.log !== b.log) return false;
  if (a.kind === "categorical" && b.kind === "categorical") {
    return JSON.stringify(a.choices) === JSON.stringify(b.choices);
  }
  return true;
}

/** The finite values of a distribution on a grid: categorical choices, stepped floats and ints. */
export function gridValues(d: Distribution): ParamValue[] | null {
  if (d.kind === "categorical") return [...d.choices];
  if (d.kind === "int") {
    const out: number[] = [];
    for (let v = d.low; v <= d.high; v += d.step) out.push(v);
    return out;
  }
  if (d.step === null) return null;
  const n = Math.floor((d.high - d.low) / d.step + 1e-9);
  return Array.from({ length: n + 1 }, (_, i) => Number((d.low + i * d.step!).toPrecision(12)));
}
