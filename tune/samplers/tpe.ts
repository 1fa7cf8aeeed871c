/**
 * Optuna 3.1's TPESampler with its defaults (independent, univariate): `n_startup_trials` 10 random
 * trials first (COMPLETE and PRUNED count), then `gamma(n) = min(ceil(0.1·n), 25)` best trials
 * make the "good" estimator l(x) and the rest g(x); 24 candidates drawn from l(x), the one with
 * the largest log l − log g wins. Pruned trials rank below completed ones by (−last step,
 * value); the prior, magic clip and weights are Optuna's (see `_parzen.ts`). Seeded: the same
 * study and seed give the same suggestion.
 *
 * `constantLiar` is Optuna's `TPESampler(constant_liar=True)`: RUNNING trials (other workers'
 * trials still in flight) join the observations as the worst possible score, so they land in
 * g(x) and the next suggestion keeps away from the points already being tried; they count neither
 * toward the startup trials nor toward gamma. With no other trial running it suggests exactly what
 * plain TPE does (the trial being sampled has no value yet for the parameter being sampled).
 *
 * @module
 */
import type { Distribution, ParamValue } from "../distributions.ts";
import { toExternal, toInternal } from "../distributions.ts";
import { Direction, type Trial, TrialState } from "../storages/mod.ts";
import { ParzenEstimator } from "./_parzen.ts";
import { RandomSampler } from "./random.ts";
import { paramRng, type Sampler, type SamplerContext } from "./sampler.ts";

/** Optuna's `default_gamma`. */
export function defaultGamma(n: number): number {
  return Math.min(Math.ceil(0.1 * n), 25);
}

/** TPE settings (Optuna 3.1's defaults). */
export interface TpeOptions {
  readonly seed: number;
  readonly nStartupTrials?: number;
  readonly nEiCandidates?: number;
  /** Optuna's `constant_liar` (see the module docs); off unless set. */
  readonly constantLiar?: boolean;
}

/** (rank step, score): lower is better, compared lexicographically. */
type Score = [number, number];

/** The observation of a finished trial, as `_get_observation_pairs` scores it, or null. */
export function scoreOf(t: Trial, sign: number): Score | null {
  if (t.state === TrialState.COMPLETE) {
    return t.values === null ? null : [-Infinity, sign * t.values[0]];
  }
  if (t.state === TrialState.PRUNED) {
    if (t.intermediateValues.size === 0) return [1, 0];
    const step = Math.max(...t.intermediateValues.keys());
    const v = t.intermediateValues.get(step)!;
    return [-step, Number.isNaN(v) ? Infinity : sign * v];
  }
  return null;
}

/** What TPE fits for one parameter: per observed trial, its score and internal value (or null). */
export interface Observations {
  readonly scores: Score[];
  readonly values: (number | null)[];
  /** The finished trials among them (running ones, with constant liar, are not counted). */
  readonly n: number;
}

/**
 * Optuna's `_get_observation_pairs` for `param`: the COMPLETE and PRUNED trials scored, in trial
 * order, and with `constantLiar` the RUNNING ones too, as `(inf, ±inf)`: worse than any finished
 * trial. The trial being sampled (`currentTrialId`) contributes no value for `param` either way.
 */
export function observationsOf(
  trials: readonly Trial[],
  param: string,
  sign: number,
  constantLiar: boolean,
  currentTrialId: number | null = null,
): Observations {
  const scores: Score[] = [], values: (number | null)[] = [];
  let n = 0;
  for (const t of trials) {
    let score = scoreOf(t, sign);
    if (score) n++;
    else if (constantLiar && t.state === TrialState.RUNNING) score = [Infinity, sign * Infinity];
    else continue;
    scores.push(score);
    values.push(
      param in t.params && t.trialId !== currentTrialId
        ? toInternal(t.distributions[param], t.params[param])
        : null,
    );
  }
  return { scores, values, n };
}

/** Indices of the `nBelow` best scores and of the rest, each in chronological order. */
export function splitBelowAbove(scores: readonly Score[], nBelow: number): [number[], number[]] {
  const order = scores.map((_, i) => i).sort((a, b) =>
    scores[a][0] - scores[b][0] || scores[a][1] - scores[b][1] || a - b
  );
  const below = order.slice(0, nBelow).sort((a, b) => a - b);
  const above = order.slice(nBelow).sort((a, b) => a - b);
  return [below, above];
}

/** The TPE sampler (see module docs). */
export class TpeSampler implements Sampler {
  readonly name = "tpe";
  readonly #seed: number;
  readonly #startup: number;
  readonly #candidates: number;
  readonly #random: RandomSampler;
  readonly #constantLiar: boolean;

  constructor(options: TpeOptions) {
    this.#constantLiar = options.constantLiar ?? false;
    this.#seed = options.seed;
    this.#startup = options.nStartupTrials ?? 10;
    this.#candidates = options.nEiCandidates ?? 24;
    this.#random = new RandomSampler({ seed: options.seed });
  }

  sample(ctx: SamplerContext, param: string, d: Distribution): ParamValue {
    const sign = ctx.direction === Direction.MINIMIZE ? 1 : -1;
    const observed = observationsOf(
      ctx.trials,
      param,
      sign,
      this.#constantLiar,
      ctx.trial.trialId,
    );
    const n = observed.n;
    if (n < this.#startup) return this.#random.sample(ctx, param, d);
    const [below, above] = splitBelowAbove(observed.scores, defaultGamma(n));
    const values = (idx: number[]) =>
      idx.map((i) => observed.values[i]).filter((v): v is number => v !== null);
    const l = new ParzenEstimator(values(below), d);
    const g = new ParzenEstimator(values(above), d);
    const rng = paramRng(this.#seed, ctx.trial.number, param);
    const candidates = l.sample(rng, this.#candidates);
    const logL = l.logPdf(candidates), logG = g.logPdf(candidates);
    let best = 0;
    for (let i = 1; i < candidates.length; i++) {
      if (logL[i] - logG[i] > logL[best] - logG[best]) best = i;
    }
    return d.kind === "categorical" ? toExternal(d, candidates[best]) : candidates[best];
  }
}
