/**
 * What a pruner is (Optuna's `BasePruner`: it decides from the study's trials whether a trial
 * stops after its latest intermediate value), and the pruner that never prunes. The pruners here
 * follow Optuna 3.1's rules and defaults:
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
import type { DirectionValue, Trial } from "../storages/mod.ts";

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

/** The step of a trial's latest intermediate value, or null before its first. */
export function lastStep(t: Trial): number | null {
  return t.intermediateValues.size === 0 ? null : Math.max(...t.intermediateValues.keys());
}

/** Never prunes. */
export class NopPruner implements Pruner {
  readonly name = "none";
  prune(): Promise<boolean> {
    return Promise.resolve(false);
  }
}
