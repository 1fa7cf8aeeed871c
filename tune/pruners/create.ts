/**
 * The pruner a `--pruner` name stands for.
 *
 * @module
 */
import { MedianPruner } from "./median.ts";
import { NopPruner, type Pruner } from "./pruner.ts";
import { SuccessiveHalvingPruner } from "./successive_halving.ts";

/** The pruners `--pruner` offers. */
export const PRUNER_NAMES = ["none", "median", "asha"] as const;

/** A `--pruner` name. */
export type PrunerName = typeof PRUNER_NAMES[number];

/** The pruner `name`, with Optuna 3.1's defaults. */
export function createPruner(name: PrunerName): Pruner {
  switch (name) {
    case "none":
      return new NopPruner();
    case "median":
      return new MedianPruner();
    case "asha":
      return new SuccessiveHalvingPruner();
  }
}
