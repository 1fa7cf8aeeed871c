/**
 * Pruners, as Optuna's `optuna.pruners` has them: none, median and successive halving (ASHA).
 *
 * @module
 */
export { NopPruner, type PruneContext, type Pruner } from "./pruner.ts";
export { MedianPruner, nanPercentile } from "./median.ts";
export { promotable, SuccessiveHalvingPruner } from "./successive_halving.ts";
export { createPruner, PRUNER_NAMES, type PrunerName } from "./create.ts";
