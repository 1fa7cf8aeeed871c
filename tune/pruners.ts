/**
 * Pruners with Optuna 3.1's rules and defaults:
 *
 * - median (`MedianPruner`: n_startup_trials 5, n_warmup_steps 0, interval_steps 1): prune when
 *   the trial's best intermediate value so far is worse than the median of the COMPLETE trials'
 *   values at the same step;
 * - successive halving / ASHA (`SuccessiveHalvingPruner`: min_resource "auto" = the largest
 *   last step of COMPLETE trials // 100, at least 1; reduction_factor 4;
 *   min_early_stopping_rate 0): at rung k (step ≥ min_resource·4^k) the value is kept as the
 *   system attribute `completed_rung_k`, and the trial goes on only when it is in the top
 *   ⌊n/4⌋ (at least the best) of the trials that reached that rung.
 *
 * @module
 */
import { Direction, type DirectionValue, type Trial, TrialState } from "./journal.ts";

/** What a pruner decides from: the study's trials and the trial, with its latest step. */
export interface PruneContext {
  readonly trials: readonly Trial[];
  readonly direction: DirectionValue;
  readonly trial: Trial;
  /** Records a system attribute of the trial (successive halving's rung values). */
  setSystemAttr(key: string, value: unknown): Promise<void>;
}

/** A pruner. */
export interface Pruner {
  readonly name: string;
  /** Whether the trial should stop after its latest intermediate value. */
  prune(ctx: PruneContext): Promise<boolean>;
}

function lastStep(t: Trial): number | null {
  return t.intermediateValues.size === 0 ? null : Math.max(...t.intermediateValues.keys());
}

/** numpy's linear percentile of `values` (NaNs ignored), or NaN when none. */
export function nanPercentile(values: readonly number[], q: number): number {
  const v = values.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const pos = (v.length - 1) * q / 100, lo = Math.floor(pos);
  return v[lo] + (v[Math.min(lo + 1, v.length - 1)] - v[lo]) * (pos - lo);
}

/** Never prunes. */
export class NopPruner implements Pruner {
  readonly name = "none";
  prune(): Promise<boolean> {
    return Promise.resolve(false);
  }
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

/** Optuna's SuccessiveHalvingPruner (asynchronous successive halving, ASHA). */
export class SuccessiveHalvingPruner implements Pruner {
  readonly name = "asha";
  readonly #reduction: number;
  readonly #rate: number;
  #minResource: number | null;

  constructor(
    options: {
      minResource?: number | null;
      reductionFactor?: number;
      minEarlyStoppingRate?: number;
    } = {},
  ) {
    this.#minResource = options.minResource ?? null;
    this.#reduction = options.reductionFactor ?? 4;
    this.#rate = options.minEarlyStoppingRate ?? 0;
  }

  async prune(ctx: PruneContext): Promise<boolean> {
    const step = lastStep(ctx.trial);
    if (step === null) return false;
    let rung = 0;
    while (`completed_rung_${rung}` in ctx.trial.systemAttrs) rung++;
    const value = ctx.trial.intermediateValues.get(step)!;
    for (;;) {
      if (this.#minResource === null) {
        const steps = ctx.trials.filter((t) => t.state === TrialState.COMPLETE)
          .map(lastStep).filter((s): s is number => s !== null);
        if (steps.length === 0) return false;
        this.#minResource = Math.max(Math.floor(Math.max(...steps) / 100), 1);
      }
      const promotion = this.#minResource * this.#reduction ** (this.#rate + rung);
      if (step < promotion) return false;
      if (Number.isNaN(value)) return true;
      const key = `completed_rung_${rung}`;
      await ctx.setSystemAttr(key, value);
      const competing = ctx.trials.filter((t) =>
        t.trialId !== ctx.trial.trialId && key in t.systemAttrs
      )
        .map((t) => t.systemAttrs[key] as number);
      competing.push(value);
      if (!promotable(value, competing, this.#reduction, ctx.direction)) return true;
      rung++;
    }
  }
}

/** Optuna's `_is_trial_promotable_to_next_rung`. */
export function promotable(
  value: number,
  competing: number[],
  reduction: number,
  direction: DirectionValue,
): boolean {
  let idx = Math.floor(competing.length / reduction) - 1;
  if (idx === -1) idx = 0;
  const sorted = [...competing].sort((a, b) => a - b);
  return direction === Direction.MAXIMIZE
    ? value >= sorted[sorted.length - 1 - idx]
    : value <= sorted[idx];
}
