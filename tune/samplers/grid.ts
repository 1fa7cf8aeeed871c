/**
 * The grid (Optuna's `GridSampler` role): every point of the search space's grid runs exactly
 * once across all workers. The points are not drawn one parameter at a time: they are enqueued
 * as WAITING trials with their `fixed_params` (Optuna's `enqueue_trial`) when the study starts,
 * each worker claims one at a time under the journal lock, and the study ends when none is left.
 * Python Optuna reads such a study as any other.
 *
 * @module
 */
import { InputError } from "../../core/mod.ts";
import type { Distribution, ParamValue } from "../distributions.ts";
import { gridPoints, type SearchSpace } from "../search_space.ts";
import type { Trial } from "../storages/mod.ts";
import type { Sampler, SamplerContext } from "./sampler.ts";

/** The grid's points as enqueued trials (see module docs). */
export class GridSampler implements Sampler {
  readonly name = "grid";
  /** Every point of the grid, in the space's order. */
  readonly points: readonly Record<string, ParamValue>[];

  /**
   * The grid of `space`, with `values` for the parameters that have them (`--lr_grid`); an
   * `InputError` when a parameter has no grid (a float range without a step).
   */
  constructor(
    space: SearchSpace,
    values: ReadonlyMap<string, readonly ParamValue[]> = new Map(),
  ) {
    this.points = gridPoints(space, values);
  }

  /**
   * The points no trial of `trials` holds (by its enqueued `fixed_params`, else its parameters):
   * what a rerun still has to run. A trial of any state holds its point; a trial whose worker
   * died is retried with the same point, so it stays held.
   */
  missing(trials: readonly Trial[]): Record<string, ParamValue>[] {
    const held = trials.map((t) =>
      (t.systemAttrs.fixed_params as Record<string, ParamValue> | undefined) ?? t.params
    );
    return this.points.filter((p) =>
      !held.some((h) => Object.entries(p).every(([k, v]) => h[k] === v))
    );
  }

  /** Never called for an enqueued point (its values are fixed); any other trial is refused. */
  sample(ctx: SamplerContext, param: string, _d: Distribution): ParamValue {
    throw new InputError(
      `Trial ${ctx.trial.number} has no grid value for "${param}": a grid study runs only its ` +
        `enqueued points`,
    );
  }
}
