/**
 * Optuna's MedianPruner (its PercentilePruner at 50), with Optuna 3.1's defaults.
 *
 * @module
 */
import { Direction, TrialState } from "../storages/mod.ts";
import { lastStep, type PruneContext, type Pruner } from "./pruner.ts";

/** numpy's linear percentile of `values` (NaNs ignored), or NaN when none. */
export function nanPercentile(values: readonly number[], q: number): number {
  const v = values.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const pos = (v.length - 1) * q / 100, lo = Math.floor(pos);
  return v[lo] + (v[Math.min(lo + 1, v.length - 1)] - v[lo]) * (pos - lo);
}

/** Optuna's MedianPruner (PercentilePruner at 50). */
export class MedianPruner implements Pruner {
  readonly name = "median";
  readonly #startup: number;
  readonly #warmup: number;
  readonly #interval: number;

  constructor(
    options: { nStartupTrials?: number; nWarmupSteps?: number; intervalSteps?: number } = {},
  ) {
    this.#startup = options.nStartupTrials ?? 5;
    this.#warmup = options.nWarmupSteps ?? 0;
    this.#interval = options.intervalSteps ?? 1;
  }

  prune(ctx: PruneContext): Promise<boolean> {
    const completed = ctx.trials.filter((t) => t.state === TrialState.COMPLETE);
    const step = lastStep(ctx.trial);
    if (completed.length === 0 || completed.length < this.#startup || step === null) {
      return Promise.resolve(false);
    }
    if (step < this.#warmup) return Promise.resolve(false);
    // Only the first report in each interval is checked.
    const lower = Math.floor((step - this.#warmup) / this.#interval) * this.#interval +
      this.#warmup;
    let secondLast = -1;
    for (const s of ctx.trial.intermediateValues.keys()) {
      if (s > secondLast && s !== step) secondLast = s;
    }
    if (!(secondLast < lower)) return Promise.resolve(false);
    const maximize = ctx.direction === Direction.MAXIMIZE;
    const own = [...ctx.trial.intermediateValues.values()].filter((x) => !Number.isNaN(x));
    if (own.length === 0) return Promise.resolve(true);
    const best = maximize ? Math.max(...own) : Math.min(...own);
    const atStep = completed.filter((t) => t.intermediateValues.has(step))
      .map((t) => t.intermediateValues.get(step)!);
    const p = nanPercentile(atStep, maximize ? 100 - 50 : 50);
    if (Number.isNaN(p)) return Promise.resolve(false);
    return Promise.resolve(maximize ? best < p : best > p);
  }
}
