/**
 * The train folder's public face: the training loop (`prepareTraining`, `runTraining`), its
 * config, the train step, HF-exact AdamW, learning-rate schedules and clipping, memory-sized
 * micro-batches and pass sizes, evaluation and metrics, checkpoints (+ rotation) and progress.
 *
 * @example
 * ```ts
 * import { prepareTraining, ProgressReporter, runTraining } from "../train/mod.ts";
 * const setup = await prepareTraining(config, { hub, log });
 * const result = await runTraining(setup, { log, progress, backend: "wasm" });
 * ```
 *
 * @module
 */
export { AdamW, type AdamWOptions, type AdamWState, decaysWeight } from "./adamw.ts";
export {
  loadCheckpointState,
  type LoadedCheckpoint,
  saveCheckpoint,
  type TrainerState,
} from "./checkpoint.ts";
export {
  checkpointName,
  type CheckpointRef,
  COMPLETE_MARKER,
  copyFinalModel,
  EVAL_RESULTS_FILE,
  hasFinalModel,
  isCompleteCheckpoint,
  latestCheckpoint,
  listCheckpoints,
  MODEL_FILES,
  OPTIMIZER_FILE,
  removeWeights,
  runRecords,
  TRAINER_STATE_FILE,
} from "./checkpoint_layout.ts";
export { rotateCheckpoints } from "./checkpoint_rotation.ts";
export { evaluate } from "./evaluate.ts";
export { clipScale, globalGradNorm, type GradClip, gradClip } from "./grad_clip.ts";
export { HeapStep } from "./heap_step.ts";
export {
  lrAt,
  lrMultiplier,
  type LrSchedule,
  resolveWarmupSteps,
  SCHEDULE_KINDS,
  type ScheduleKind,
} from "./lr_schedule.ts";
export { accuracyAndF1, type EvalMetrics, isImprovement } from "./metrics.ts";
export { type MetricsSink } from "./metrics_sink.ts";
export {
  maxTrainRows,
  type PassSizes,
  passSizes,
  splitBatch,
  trainBytesPerExample,
  WASM_TRAIN_BUDGET_BYTES,
} from "./micro_batch.ts";
export {
  formatDuration,
  formatNumber,
  formatSample,
  ProgressReporter,
  type ProgressSample,
} from "./progress.ts";
export {
  acquireRunLock,
  LOCK_FILE,
  type LockHolder,
  readRunLock,
  type RunLock,
} from "./run_dir.ts";
export { type PlanInputs, planRun, type RunPlan } from "./run_plan.ts";
export { RunState } from "./run_state.ts";
export { FREE_KEYS, INVOCATION_KEYS, type TrainConfig, TRAJECTORY_KEYS } from "./train_config.ts";
export {
  type InlineData,
  type PrepareOptions,
  prepareTraining,
  type TrainSetup,
} from "./train_setup.ts";
export { firstNonFinite, type StepResult, TrainStepper } from "./train_step.ts";
export {
  runTraining,
  type RunTrainingOptions,
  type StopRequest,
  type TrainResult,
} from "./trainer.ts";
