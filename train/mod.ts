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
export * from "./adamw.ts";
export * from "./checkpoint.ts";
export * from "./checkpoint_rotation.ts";
export * from "./eval_and_save.ts";
export * from "./evaluate.ts";
export * from "./grad_clip.ts";
export * from "./lr_schedule.ts";
export * from "./metrics.ts";
export * from "./metrics_sink.ts";
export * from "./micro_batch.ts";
export * from "./progress.ts";
export * from "./run_dir.ts";
export * from "./run_plan.ts";
export * from "./run_state.ts";
export * from "./step_batches.ts";
export * from "./train_config.ts";
export * from "./train_setup.ts";
export * from "./train_step.ts";
export * from "./trainer.ts";
