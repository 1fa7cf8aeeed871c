/**
 * The plan of a training run, computed once before the first step from the config and the data
 * size: steps per epoch, total steps, the learning-rate schedule, the logging and evaluation
 * cadence, and the pass sizes of the backend. Pure: no tensors, no I/O.
 *
 * @example
 * ```ts
 * const plan = planRun(config, { trainExamples: 3668, backend: "wasm", model: modelConfig });
 * plan.totalSteps;          // 690 for MRPC, batch 16, 3 epochs
 * isEvalStep(plan, 230);    // true: the end of epoch 1
 * ```
 *
 * @module
 */
import { batchCount } from "../data/mod.ts";
import type { DistilBertConfig } from "../model/mod.ts";
import { type LrSchedule, resolveWarmupSteps } from "./lr_schedule.ts";
import { type PassSizes, passSizes } from "./micro_batch.ts";
import type { TrainConfig } from "./train_config.ts";

/** What a run will do, step by step (see module docs). */
export interface RunPlan {
  /** Examples per batch (`--batch_size`) and batches per optimizer step (accumulation). */
  readonly batchSize: number;
  readonly accumulation: number;
  /** Batches in one epoch (the last one may be smaller). */
  readonly batchesPerEpoch: number;
  /** Optimizer steps in one epoch (the last may take fewer batches). */
  readonly stepsPerEpoch: number;
  /** Optimizer steps of the whole run (`--max_steps`, else epochs × steps per epoch). */
  readonly totalSteps: number;
  readonly schedule: LrSchedule;
  /** Log every this many optimizer steps (and at the last). */
  readonly loggingEvery: number;
  /** Evaluate and checkpoint every this many optimizer steps (and at the last). */
  readonly evalEvery: number;
  /** Rows per forward/backward and evaluation pass on the backend. */
  readonly passes: PassSizes;
  /** Examples per evaluation batch: `--eval_batch_size`, capped by the backend's pass size. */
  readonly evalBatchSize: number;
}

/** Inputs of {@linkcode planRun} besides the config. */
export interface PlanInputs {
  /** Encoded training examples. */
  readonly trainExamples: number;
  /** The active tfjs backend name (`wasm` caps pass sizes). */
  readonly backend: string;
  readonly model: DistilBertConfig;
}

/** Plans the run that `config` describes over `inputs.trainExamples` examples. */
export function planRun(config: TrainConfig, inputs: PlanInputs): RunPlan {
  const batchSize = config.batch_size, accumulation = config.gradient_accumulation_steps;
  const batchesPerEpoch = batchCount(inputs.trainExamples, batchSize);
  const stepsPerEpoch = Math.ceil(batchesPerEpoch / accumulation);
  const totalSteps = config.max_steps > 0
    ? config.max_steps
    : Math.ceil(config.epochs * stepsPerEpoch);
  const warmupSteps = resolveWarmupSteps(totalSteps, {
    warmupSteps: config.warmup_steps,
    warmupRatio: config.warmup_ratio,
  });
  const passes = passSizes(inputs.backend, inputs.model);
  return {
    batchSize,
    accumulation,
    batchesPerEpoch,
    stepsPerEpoch,
    totalSteps,
    schedule: { kind: config.lr_scheduler, baseLr: config.lr, totalSteps, warmupSteps },
    loggingEvery: config.logging_steps,
    evalEvery: config.eval_steps > 0 ? config.eval_steps : stepsPerEpoch,
    passes,
    evalBatchSize: Math.min(config.eval_batch_size, passes.evalRows(config.max_seq_length)),
  };
}

/** Whether the optimizer step count `step` (1-based, after the step) ends a logging interval. */
export function isLoggingStep(plan: RunPlan, step: number): boolean {
  return step % plan.loggingEvery === 0 || step === plan.totalSteps;
}

/** Whether the run evaluates and checkpoints after optimizer step `step` (1-based). */
export function isEvalStep(plan: RunPlan, step: number): boolean {
  return step % plan.evalEvery === 0 || step === plan.totalSteps;
}

/** Where optimizer step `step` (0-based) reads its batches: the epoch and its batch range. */
export function stepPosition(
  plan: RunPlan,
  step: number,
): { epoch: number; firstBatch: number; endBatch: number } {
  const epoch = Math.floor(step / plan.stepsPerEpoch), k = step % plan.stepsPerEpoch;
  const firstBatch = k * plan.accumulation;
  return {
    epoch,
    firstBatch,
    endBatch: Math.min(firstBatch + plan.accumulation, plan.batchesPerEpoch),
  };
}

/** The epoch (fractional) after `step` optimizer steps. */
export function epochAt(plan: RunPlan, step: number): number {
  return step / plan.stepsPerEpoch;
}
