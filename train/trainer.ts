/**
 * The training loop, top to bottom: plan the run, build the model and optimizer, then per
 * optimizer step: batch, step (forward, backward, clip, AdamW, schedule), log, evaluate,
 * checkpoint. Hugging Face Trainer semantics (see docs/architecture.md), atomic checkpoints,
 * and exact resume: every random choice is a pure function of the seed and the step, so a run
 * resumed from `checkpoint-N` continues bit-identically on the same backend.
 *
 * @module
 */
import { join } from "node:path";
import { deriveSeed, InputError, Interrupted, RunError, type StopSignalName } from "../core/mod.ts";
import { DistilBertClassifier } from "../model/mod.ts";
import { AdamW } from "./adamw.ts";
import {
  evaluateAndSave,
  exportBest,
  saveCheckpointNow,
  type SaveContext,
} from "./eval_and_save.ts";
import { lrAt } from "./lr_schedule.ts";
import type { EvalMetrics } from "./metrics.ts";
import type { ProgressReporter } from "./progress.ts";
import { epochAt, isEvalStep, isLoggingStep, planRun, type RunPlan } from "./run_plan.ts";
import { LogInterval, RunState } from "./run_state.ts";
import { StepBatches } from "./step_batches.ts";
import type { TrainConfig } from "./train_config.ts";
import type { TrainSetup } from "./train_setup.ts";
import type { TrainerState } from "./checkpoint.ts";
import { checkpointName } from "./checkpoint_layout.ts";
import type { MetricsSink } from "./metrics_sink.ts";
import { type StepResult, TrainStepper } from "./train_step.ts";

/** What a finished run reports. */
export interface TrainResult {
  readonly globalStep: number;
  /** Path of the best checkpoint (inside `checkpoint_dir`), or null. */
  readonly bestCheckpoint: string | null;
  readonly bestMetric: number | null;
  /** Metrics of the best checkpoint (what `<checkpoint_dir>/eval_results.json` holds). */
  readonly bestEval: EvalMetrics | null;
  readonly lastEval: EvalMetrics | null;
  readonly nonfiniteSteps: number;
  /** Why the run ended before its last step: early stopping, or pruned by a tuner. */
  readonly stoppedBy: "early_stopping" | "pruned" | null;
}

/** A request to stop (Ctrl-C, `docker stop`), checked after every optimizer step. */
export interface StopRequest {
  /** The signal that asked the run to stop, or null. */
  readonly signal: StopSignalName | null;
  /** Called when the first optimizer step starts: from then on a stop saves a checkpoint. */
  trainingStarted(): void;
}

/** Options of {@linkcode runTraining}. */
export interface RunTrainingOptions {
  readonly log: (line: string) => void;
  readonly progress: ProgressReporter;
  /** Backend name; the wasm heap cap makes big batches run as memory-sized micro-batches. */
  readonly backend: string;
  /** A graceful stop: finish the step, save `checkpoint-<step>`, throw `Interrupted`. */
  readonly stop?: StopRequest;
  /** Receives every logged row and the summary (the run record and W&B). */
  readonly sink?: MetricsSink;
  /** The run's id (its record and W&B run), kept in every checkpoint for resuming. */
  readonly runId?: string;
  /** Told every evaluation (a tuning trial reports it); true stops the run (pruned). */
  readonly onEvaluation?: (step: number, metrics: EvalMetrics) => Promise<boolean>;
}

/**
 * Runs (or resumes) training as `setup.config` says and leaves the best model in
 * `checkpoint_dir`; releases the checkpoint dir's lock when it ends, however it ends.
 */
export async function runTraining(
  setup: TrainSetup,
  options: RunTrainingOptions,
): Promise<TrainResult> {
  try {
    return await trainLoop(setup, options);
  } finally {
    setup.lock.release();
  }
}

async function trainLoop(setup: TrainSetup, options: RunTrainingOptions): Promise<TrainResult> {
  const { log, progress } = options;
  const { config } = setup;
  const { save, state, batches } = await buildRun(setup, options);
  const { plan, model, stepper } = save;
  const interval = new LogInterval();
  const runStart = performance.now();
  let stoppedBy: TrainResult["stoppedBy"] = null;
  options.stop?.trainingStarted();
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
      await logStep(save, state, interval, { lr, runStart });
      // Evaluate and checkpoint.
      const ended = isEvalStep(plan, state.step) ? await evaluateAndSave(save, state) : null;
      if (ended) {
        stoppedBy = ended;
        progress.line(
          ended === "pruned"
            ? `Pruned by the tuner at step ${state.step}`
            : `Early stopping: ${state.evalsWithoutImprovement} evaluations without a better ` +
              `${config.metric_for_best_model}`,
        );
        break;
      }
      // Let signal handlers run between steps (a step itself is synchronous).
      await new Promise((resolve) => setTimeout(resolve, 0));
      if (options.stop?.signal) await stopNow(save, state, options.stop.signal);
    }
    // A run that ended between evaluations (early stopping cannot) still evaluates its end.
    if (state.lastEvalStep !== state.step && state.step > state.startStep) {
      await evaluateAndSave(save, state);
    }
    await exportBest(config, state, log);
  } finally {
    stepper.dispose();
    model.dispose();
  }
  return {
    globalStep: state.step,
    bestCheckpoint: state.bestCheckpoint && join(config.checkpoint_dir, state.bestCheckpoint),
    bestMetric: state.bestMetric,
    bestEval: state.bestEval,
    lastEval: state.lastEval,
    nonfiniteSteps: state.nonfiniteSteps,
    stoppedBy,
  };
}

/**
 * Plans the run and builds what it steps: the model, AdamW, the stepper, the run state (fresh
 * or resumed) and the step batches.
 */
async function buildRun(
  setup: TrainSetup,
  options: RunTrainingOptions,
): Promise<{ save: SaveContext; state: RunState; batches: StepBatches }> {
  const { config, pretrained, resume } = setup;
  const plan = planRun(config, {
    trainExamples: setup.train.length,
    backend: options.backend,
    model: pretrained.config,
  });
  if (resume) checkResumePlan(plan, resume.state, resume.path);
  noteMicroBatches(config, plan, options.log);
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
  const save: SaveContext = {
    config,
    plan,
    setup,
    model,
    optimizer,
    stepper,
    progress: options.progress,
    sink: options.sink,
    runId: options.runId,
    onEvaluation: options.onEvaluation,
  };
  return { save, state, batches };
}

/** Updates the progress bar; every `--logging_steps` logs the interval's means and resets it. */
async function logStep(
  save: SaveContext,
  state: RunState,
  interval: LogInterval,
  at: { lr: number; runStart: number },
): Promise<void> {
  const { plan, progress } = save;
  const sample = {
    step: state.step,
    totalSteps: plan.totalSteps,
    epoch: epochAt(plan, state.step),
    loss: interval.meanLoss,
    lr: at.lr,
    examplesPerSecond: interval.examplesPerSecond(),
    etaSeconds: ((performance.now() - at.runStart) / 1000 / (state.step - state.startStep)) *
      (plan.totalSteps - state.step),
  };
  progress.update(sample);
  if (!isLoggingStep(plan, state.step)) return;
  if (interval.steps > 0) {
    const row = state.logTrain(plan, {
      loss: interval.meanLoss,
      lr: at.lr,
      gradNorm: interval.meanGradNorm,
    });
    await save.sink?.log(state.step, {
      ...row,
      "train/epoch": epochAt(plan, state.step),
      "train/examples_per_second": sample.examplesPerSecond,
    });
  }
  progress.interval(sample);
  interval.reset();
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

/** A resumed run must plan the same steps as the run it continues (same data and settings). */
function checkResumePlan(plan: RunPlan, state: TrainerState, path: string): void {
  const mismatch = plan.totalSteps !== state.total_steps
    ? `${plan.totalSteps} total steps instead of ${state.total_steps}`
    : plan.stepsPerEpoch !== state.steps_per_epoch
    ? `${plan.stepsPerEpoch} steps per epoch instead of ${state.steps_per_epoch}`
    : null;
  if (mismatch) {
    throw new InputError(
      `Cannot resume from "${path}": the run would now take ${mismatch} (its data or settings ` +
        `changed); start a new --checkpoint_dir`,
    );
  }
}

/** The graceful stop: save the current step (unless just saved) and end with `Interrupted`. */
async function stopNow(save: SaveContext, state: RunState, signal: StopSignalName): Promise<never> {
  const name = checkpointName(state.step);
  const saved = state.lastEvalStep === state.step || state.step === state.startStep;
  if (!saved) await saveCheckpointNow(save, state, null);
  const what = state.step === 0 ? "nothing to save yet" : `${name} saved`;
  throw new Interrupted(
    signal,
    `Interrupted at step ${state.step}: ${what}; continue with --resume auto`,
  );
}
