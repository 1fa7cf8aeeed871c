/**
 * Evaluate-and-checkpoint, the step of the training loop that runs every `--eval_steps`: evaluate
 * on the validation split, update the best model, write `checkpoint-<step>/` atomically, rotate
 * old checkpoints, and tell the loop whether early stopping ends the run. At the end of a run
 * `exportBest` copies the best checkpoint's model into `checkpoint_dir` itself.
 *
 * @module
 */
import { join } from "node:path";
import { RunError } from "../core/mod.ts";
import { writeFileAtomic } from "../io/mod.ts";
import type { DistilBertClassifier } from "../model/mod.ts";
import type { AdamW } from "./adamw.ts";
import { saveCheckpoint } from "./checkpoint.ts";
import {
  checkpointName,
  COMPLETE_MARKER,
  EVAL_RESULTS_FILE,
  OPTIMIZER_FILE,
} from "./checkpoint_layout.ts";
import { rotateCheckpoints } from "./checkpoint_rotation.ts";
import { evaluate } from "./evaluate.ts";
import type { EvalMetrics } from "./metrics.ts";
import type { MetricsSink } from "./metrics_sink.ts";
import { formatNumber, type ProgressReporter } from "./progress.ts";
import type { RunPlan } from "./run_plan.ts";
import type { RunState } from "./run_state.ts";
import type { TrainConfig } from "./train_config.ts";
import type { TrainSetup } from "./train_setup.ts";
import { firstNonFinite, type TrainStepper } from "./train_step.ts";

/** What evaluate-and-checkpoint works on (all of it owned by the training loop). */
export interface SaveContext {
  readonly config: TrainConfig;
  readonly plan: RunPlan;
  readonly setup: TrainSetup;
  readonly model: DistilBertClassifier;
  readonly optimizer: AdamW;
  readonly stepper: TrainStepper;
  readonly progress: ProgressReporter;
  readonly sink?: MetricsSink;
  readonly runId?: string;
  /** Told every evaluation (a tuning trial reports it); true stops the run (pruned). */
  readonly onEvaluation?: (step: number, metrics: EvalMetrics) => Promise<boolean>;
}

/** `eval_results.json` as the HF Trainer names its keys. */
export function evalResultsJson(m: EvalMetrics, step: number): Record<string, number> {
  return {
    step,
    eval_loss: m.loss,
    eval_accuracy: m.accuracy,
    eval_f1: m.f1,
    eval_samples: m.count,
  };
}

/**
 * Writes `checkpoint-<step>` of the current state (with `eval_results.json` when `metrics` are
 * given) and rotates old checkpoints. Refuses (a `RunError`) to save non-finite weights.
 */
export async function saveCheckpointNow(
  ctx: SaveContext,
  state: RunState,
  metrics: EvalMetrics | null,
): Promise<void> {
  const { config, plan, setup } = ctx;
  const bad = firstNonFinite(ctx.stepper.params);
  if (bad) throw new RunError(`Refusing to save non-finite weights ("${bad}")`);
  const shapes = new Map([...ctx.model.params].map(([n, v]) => [n, v.shape] as const));
  const trainerState = state.toTrainerState(plan, {
    config,
    optimizerSteps: ctx.optimizer.stepCount,
    data: setup.data,
    runId: ctx.runId,
  });
  // The parameters and moments as they are (heap views in the heap mode): no tfjs call runs
  // until the checkpoint is written.
  await saveCheckpoint(config.checkpoint_dir, {
    config: setup.pretrained.config,
    params: ctx.stepper.params,
    shapes,
    optimizer: ctx.stepper.optimizerState(),
    state: trainerState,
    tokenizerFiles: setup.tokenizerFiles,
    extraJson: metrics ? { [EVAL_RESULTS_FILE]: evalResultsJson(metrics, state.step) } : {},
  });
  await rotateCheckpoints(config.checkpoint_dir, {
    keep: config.save_total_limit,
    bestPath: state.bestCheckpoint && join(config.checkpoint_dir, state.bestCheckpoint),
  });
}

/**
 * Evaluates at `state.step`, records the result in `state`, writes `checkpoint-<step>` and
 * rotates. Returns why the run ends here (early stopping, or the tuner's pruner), or null.
 */
export async function evaluateAndSave(
  ctx: SaveContext,
  state: RunState,
): Promise<"early_stopping" | "pruned" | null> {
  const { config, plan, setup, progress } = ctx;
  const metrics = await evaluate(ctx.model, setup.validation, {
    batchSize: plan.evalBatchSize,
    padId: setup.tokenizer.padId,
  });
  state.recordEval(plan, metrics, {
    metric: config.metric_for_best_model,
    checkpoint: checkpointName(state.step),
  });
  await ctx.sink?.log(state.step, {
    "eval/loss": metrics.loss,
    "eval/accuracy": metrics.accuracy,
    "eval/f1": metrics.f1,
  });
  await ctx.sink?.summary(state.summary(config.metric_for_best_model));
  progress.line(
    `eval step ${state.step}: loss ${formatNumber(metrics.loss)} accuracy ` +
      `${formatNumber(metrics.accuracy)} f1 ${formatNumber(metrics.f1)} (${metrics.count} pairs)`,
  );
  await saveCheckpointNow(ctx, state, metrics);
  if (await ctx.onEvaluation?.(state.step, metrics)) return "pruned";
  return state.earlyStopped(config.early_stopping_patience) ? "early_stopping" : null;
}

/** Copies the best checkpoint's model files into `checkpoint_dir` itself (each atomically). */
export async function exportBest(
  config: TrainConfig,
  state: RunState,
  log: (line: string) => void,
): Promise<void> {
  if (!state.bestCheckpoint) return;
  const best = join(config.checkpoint_dir, state.bestCheckpoint);
  for await (const entry of Deno.readDir(best)) {
    if (!entry.isFile || entry.name === OPTIMIZER_FILE || entry.name === COMPLETE_MARKER) continue;
    await writeFileAtomic(
      join(config.checkpoint_dir, entry.name),
      await Deno.readFile(join(best, entry.name)),
    );
  }
  const metric = config.metric_for_best_model;
  const value = state.bestEval ? formatNumber(state.bestEval[metric]) : "?";
  log(`Best model (${metric} ${value}) from "${best}" saved to "${config.checkpoint_dir}"`);
}
