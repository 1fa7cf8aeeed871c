/**
 * Optuna's SuccessiveHalvingPruner (asynchronous successive halving, ASHA), with Optuna 3.1's
 * defaults: min_resource "auto", reduction factor 4, min_early_stopping_rate 0.
 *
 * @module
 */
import { Direction, type DirectionValue, TrialState } from "../storages/mod.ts";
import { lastStep, type PruneContext, type Pruner } from "./pruner.ts";

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
