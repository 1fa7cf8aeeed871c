/**
 * Hyperparameter search with Optuna's shape and Optuna's file format: a study (`study.ts`) of
 * trials over a search space (`search_space.ts`, `distributions.ts`), suggested by a sampler
 * (`samplers/`: random, TPE, grid), stopped early by a pruner (`pruners/`: median, successive
 * halving) and kept in a storage (`storages/`: Optuna's journal in a file or Redis, readable by
 * Python Optuna). On top of that, the tuning worker (`worker.ts`) runs a study's trials, keeps
 * the best model (`best_model.ts`), and writes the summary with importances (`summary.ts`,
 * `importance.ts`).
 *
 * How a trial runs: the worker hands each trial to a `TrialRunner` (`trial_runner.ts`). tune/
 * only declares it; the product's runner is `ProcessTrialRunner` in `cli/_trial_runner.ts`,
 * which starts the trial as a `train` child process. The child side is switched on by the
 * environment variable `MRPC_TUNE_TRIAL_CHANNEL=stdio` (`cli/_trial_channel.ts`): `train` then
 * sends its evaluations on stdout and reads the prune decisions on stdin.
 *
 * @example
 * ```ts
 * import { floatDist, JournalMemory, JournalStorage, Study, TpeSampler } from "../tune/mod.ts";
 * ```
 *
 * @module
 */
export {
  categoricalDist,
  type Choice,
  type Distribution,
  distributionFromJson,
  distributionToJson,
  floatDist,
  intDist,
  type ParamValue,
} from "./distributions.ts";
export {
  BUILTIN_SPACE,
  DEMO_LR,
  type FlagLimits,
  gridPoints,
  parseLrGrid,
  parseSearchSpace,
  type SearchSpace,
  studySpace,
} from "./search_space.ts";
export {
  checkStorageSpec,
  Direction,
  type DirectionValue,
  isRedisStorage,
  type JournalBackend,
  JournalFile,
  JournalMemory,
  JournalRedis,
  JournalState,
  JournalStorage,
  Op,
  openStorage,
  parsePyDate,
  parsePyJson,
  pyNow,
  STATE_NAMES,
  StorageLost,
  stringifyPyJson,
  type Trial,
  TrialState,
  type TrialStateValue,
} from "./storages/mod.ts";
export {
  createSampler,
  GridSampler,
  type Observations,
  observationsOf,
  RandomSampler,
  type Sampler,
  SAMPLER_NAMES,
  type SamplerName,
  TpeSampler,
} from "./samplers/mod.ts";
export {
  createPruner,
  MedianPruner,
  nanPercentile,
  NopPruner,
  promotable,
  type Pruner,
  PRUNER_NAMES,
  type PrunerName,
  SuccessiveHalvingPruner,
} from "./pruners/mod.ts";
export {
  countedTrials,
  failedOnItsOwn,
  INTERRUPTED,
  Study,
  type StudyOptions,
  TrialHandle,
  TrialPruned,
  WORKER_DIED_ATTR,
} from "./study.ts";
export {
  bestModelDir,
  defaultJournal,
  reportPath,
  studyRunsDir,
  summaryPath,
  TRIAL_DIR_ATTR,
  trialDir,
} from "./study_layout.ts";
export { WORKER_ATTR } from "./worker_identity.ts";
export { paramImportances } from "./importance.ts";
export {
  bestTrial,
  formatParams,
  IMPORTANCE_METHOD,
  type StudySummary,
  trialDuration,
  type TrialSummary,
} from "./summary.ts";
export { type BestTrialInfo } from "./best_model.ts";
export {
  type Objective,
  type TrialMetrics,
  type TrialOutcome,
  type TrialRunner,
  type TrialSpec,
} from "./trial_runner.ts";
export { OBJECTIVE_ATTR, runTuning, type RunTuningOptions, type TuneSettings } from "./worker.ts";
