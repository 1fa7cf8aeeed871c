/**
 * The training loop, top to bottom: plan the run, build the model and optimizer, then per
 * optimizer step: batch, step (forward, backward, clip, AdamW, schedule), log, evaluate,
 * checkpoint. Hugging Face Trainer semantics (see STYLE.md), atomic checkpoints, and exact
 * resume: every random choice is a pure function of the seed and the step, so a run resumed from
 * `checkpoint-N` continues bit-identically on the same backend.
 *
 * @module
 */
import { deriveSeed, RunError } from "../data/mod.ts";
import { DistilBertClassifier } from "../model/mod.ts";
import { AdamW } from "./adamw.ts";
import { evaluateAndSave, exportBest, type SaveContext } from "./eval_and_save.ts";
import { lrAt } from "./lr_schedule.ts";
import type { EvalMetrics } from "./metrics.ts";
import type { ProgressReporter } from "./progress.ts";
import { epochAt, isEvalStep, isLoggingStep, planRun, type RunPlan } from "./run_plan.ts";
import { LogInterval, RunState } from "./run_state.ts";
import { StepBatches } from "./step_batches.ts";
import type { TrainConfig } from "./train_config.ts";
import type { TrainSetup } from "./train_setup.ts";
import { type StepResult, TrainStepper } from "./train_step.ts";

/** What a finished run reports. */
export interface TrainResult {
  readonly globalStep: number;
  readonly bestCheckpoint: string | null;
  readonly bestMetric: number | null;
  /** Metrics of the best checkpoint (what `<checkpoint_dir>/eval_results.json` holds). */
  readonly bestEval: EvalMetrics | null;
  readonly lastEval: EvalMetrics | null;
  readonly nonfiniteSteps: number;
}

/** Options of {@linkcode runTraining}. */
export interface RunTrainingOptions {
  readonly log: (line: string) => void;
  readonly progress: ProgressReporter;
  /** Backend name; the wasm heap cap makes big batches run as memory-sized micro-batches. */
  readonly backend: string;
}

/** Runs (or resumes) training as configured and leaves the best model in `checkpoint_dir`. */
export async function runTraining(
  config: TrainConfig,
  setup: TrainSetup,
  options: RunTrainingOptions,
): Promise<TrainResult> {
  const { log, progress } = options;
  const { pretrained, resume } = setup;
  const plan = planRun(config, {
    trainExamples: setup.train.length,
    backend: options.backend,
    model: pretrained.config,
  });
  noteMicroBatches(config, plan, log);
  const model = DistilBertClassifier.fromWeights(pretrained.config, pretrained.weights, {
    source: pretrained.dir,
  });
  const optimizer = new AdamW({ weightDecay: config.weight_decay });
  if (resume) optimizer.loadState(resume.optimizer);
  const stepper = await TrainStepper.create(model, optimizer, {
    maxGradNorm: config.max_grad_norm,
    maxRows: plan.passes.trainRows,
  });
  const state = resume ? RunState.resume(resume.state, setup.validation.length) : RunState.fresh();
  const batches = new StepBatches(setup.train, plan, {
    seed: config.seed,
    groupByLength: config.group_by_length,
    padId: setup.tokenizer.padId,
  });
  const save: SaveContext = { config, plan, setup, model, optimizer, stepper, progress };
  const interval = new LogInterval();
  const runStart = performance.now();
  try {
    while (state.step < plan.totalSteps) {
      // Batch and step.
      const stepBatches = batches.forStep(state.step);
      const lr = lrAt(state.step, plan.schedule);
      const result = stepper.step(stepBatches, { lr, seed: deriveSeed(config.seed, state.step) });
      const consecutive = state.recordStep(result);
      interval.add(result, stepBatches.reduce((n, b) => n + b.batchSize, 0));
      if (!result.applied) reportSkipped(state, result, progress);
      if (consecutive >= config.max_consecutive_nonfinite) throw diverged(consecutive, state);
      // Log.
      const sample = {
        step: state.step,
        totalSteps: plan.totalSteps,
        epoch: epochAt(plan, state.step),
        loss: interval.meanLoss,
        lr,
        examplesPerSecond: interval.examplesPerSecond(),
        etaSeconds: ((performance.now() - runStart) / 1000 / (state.step - state.startStep)) *
          (plan.totalSteps - state.step),
      };
      progress.update(sample);
      if (isLoggingStep(plan, state.step)) {
        if (interval.steps > 0) {
          state.logTrain(plan, { loss: interval.meanLoss, lr, gradNorm: interval.meanGradNorm });
        }
        progress.interval(sample);
        interval.reset();
      }
      // Evaluate and checkpoint.
      if (isEvalStep(plan, state.step) && await evaluateAndSave(save, state)) {
        progress.line(
          `Early stopping: ${state.evalsWithoutImprovement} evaluations without a better ` +
            `${config.metric_for_best_model}`,
        );
        break;
      }
    }
    // A run that ended between evaluations (early stopping cannot) still evaluates its end.
    if (state.lastEvalStep !== state.step && state.step > state.startStep) {
      await evaluateAndSave(save, state);
    }
    await exportBest(config, state, log);
  } finally {
    model.dispose();
  }
  return {
    globalStep: state.step,
    bestCheckpoint: state.bestCheckpoint,
    bestMetric: state.bestMetric,
    bestEval: state.bestEval,
    lastEval: state.lastEval,
    nonfiniteSteps: state.nonfiniteSteps,
  };
}

/** Says once, up front, when the backend's memory makes batches run as micro-batches. */
function noteMicroBatches(config: TrainConfig, plan: RunPlan, log: (line: string) => void): void {
  const rows = plan.passes.trainRows(config.max_seq_length);
  if (rows >= plan.batchSize) return;
  log(
    `Batches of ${plan.batchSize} do not fit the 4 GiB wasm heap at up to ` +
      `${config.max_seq_length} tokens: running them as micro-batches of up to ${rows} rows ` +
      `(same gradients, summed)`,
  );
}

function reportSkipped(state: RunState, result: StepResult, progress: ProgressReporter): void {
  const what = Number.isFinite(result.loss) ? "gradient norm" : "loss";
  progress.line(
    `step ${state.step}: skipped (non-finite ${what}); ${state.consecutiveNonfinite} in a row, ` +
      `${state.nonfiniteSteps} in all`,
  );
}

function diverged(consecutive: number, state: RunState): RunError {
  return new RunError(
    `Training diverged: ${consecutive} consecutive steps had a non-finite loss or gradient ` +
      `norm (last at step ${state.step}); try a lower --lr`,
  );
}
