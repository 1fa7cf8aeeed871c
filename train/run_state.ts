/**
 * What a training run has done so far: the optimizer step, the best evaluation and its
 * checkpoint, patience and non-finite counters, and the log history. It changes only through
 * its methods, and `toTrainerState` turns it into the `trainer_state.json` a resumed run starts
 * from (`RunState.resume`).
 *
 * @module
 */
import { basename } from "node:path";
import type { LogEntry, TrainerState } from "./checkpoint.ts";
import { checkpointStep } from "./checkpoint_layout.ts";
import { type EvalMetrics, isImprovement } from "./metrics.ts";
import { epochAt, type RunPlan } from "./run_plan.ts";
import type { TrainConfig } from "./train_config.ts";
import type { StepResult } from "./train_step.ts";

/** How every random choice derives from the seed (recorded in the trainer state). */
export const RNG_SCHEME =
  "order: epochOrder(seed, epoch); dropout: deriveSeed(seed, step, batch, micro)";

const EVAL_KEYS = { loss: "eval/loss", accuracy: "eval/accuracy", f1: "eval/f1" } as const;

/** The evaluation logged at `step` in `history` over `count` pairs, or null. */
function evalFromHistory(
  history: readonly LogEntry[],
  step: number,
  count: number,
): EvalMetrics | null {
  const entry = history.findLast((e) => e.step === step && EVAL_KEYS.accuracy in e);
  if (!entry) return null;
  return {
    loss: entry[EVAL_KEYS.loss],
    accuracy: entry[EVAL_KEYS.accuracy],
    f1: entry[EVAL_KEYS.f1],
    count,
  };
}

/** The progress of one run (see module docs). */
export class RunState {
  /** Optimizer steps taken (applied or skipped). */
  step = 0;
  bestMetric: number | null = null;
  /**
   * Folder name of the best checkpoint so far (`checkpoint-<step>`), relative to the checkpoint
   * dir so that the dir can be moved, copied or named differently on resume.
   */
  bestCheckpoint: string | null = null;
  /** Metrics of the best checkpoint (what `<checkpoint_dir>/eval_results.json` holds). */
  bestEval: EvalMetrics | null = null;
  evalsWithoutImprovement = 0;
  nonfiniteSteps = 0;
  consecutiveNonfinite = 0;
  /** The last evaluation of this process and its step. */
  lastEval: EvalMetrics | null = null;
  lastEvalStep = -1;
  readonly history: LogEntry[] = [];
  /** The step this process started from (0, or the resumed checkpoint's). */
  readonly startStep: number;

  private constructor(startStep: number) {
    this.startStep = startStep;
  }

  /** A fresh run. */
  static fresh(): RunState {
    return new RunState(0);
  }

  /**
   * The state a resumed run continues from, as its checkpoint recorded it; the best
   * checkpoint's metrics come from its log history (an evaluation over `validationCount` pairs).
   */
  static resume(prior: TrainerState, validationCount: number): RunState {
    const s = new RunState(prior.global_step);
    s.step = prior.global_step;
    s.bestMetric = prior.best_metric;
    // Earlier versions stored the path as typed: keep its folder name only.
    s.bestCheckpoint = prior.best_model_checkpoint === null
      ? null
      : basename(prior.best_model_checkpoint);
    s.evalsWithoutImprovement = prior.evals_without_improvement;
    s.nonfiniteSteps = prior.nonfinite_steps;
    s.consecutiveNonfinite = prior.consecutive_nonfinite;
    s.history.push(...prior.log_history);
    const best = checkpointStep(s.bestCheckpoint ?? "");
    s.bestEval = best !== null ? evalFromHistory(s.history, best, validationCount) : null;
    return s;
  }

  /** Counts one optimizer step; returns the consecutive non-finite count (0 when applied). */
  recordStep(result: StepResult): number {
    this.step++;
    if (result.applied) {
      this.consecutiveNonfinite = 0;
    } else {
      this.nonfiniteSteps++;
      this.consecutiveNonfinite++;
    }
    return this.consecutiveNonfinite;
  }

  /** Logs a training interval's means at the current step; returns the metrics logged. */
  logTrain(
    plan: RunPlan,
    means: { loss: number; lr: number; gradNorm: number },
  ): Record<string, number> {
    const metrics = {
      "train/loss": means.loss,
      "train/lr": means.lr,
      "train/grad_norm": means.gradNorm,
    };
    this.history.push({ step: this.step, epoch: epochAt(plan, this.step), ...metrics });
    return metrics;
  }

  /** The run's summary: the best evaluation and its step, the latest one, the step. */
  summary(metric: string): Record<string, number | null> {
    const best = this.bestEval;
    const last = this.lastEval;
    const bestStep = checkpointStep(this.bestCheckpoint ?? "");
    return {
      [`best/${metric}`]: this.bestMetric,
      "best/step": bestStep,
      ...(best
        ? {
          "best/eval_loss": best.loss,
          "best/eval_accuracy": best.accuracy,
          "best/eval_f1": best.f1,
        }
        : {}),
      ...(last
        ? {
          [EVAL_KEYS.loss]: last.loss,
          [EVAL_KEYS.accuracy]: last.accuracy,
          [EVAL_KEYS.f1]: last.f1,
        }
        : {}),
      "train/global_step": this.step,
    };
  }

  /**
   * Records an evaluation at the current step, whose checkpoint will be `checkpoint` (its folder
   * name); updates the best model and the patience count. Returns whether it is the new best.
   */
  recordEval(
    plan: RunPlan,
    metrics: EvalMetrics,
    options: { metric: TrainConfig["metric_for_best_model"]; checkpoint: string },
  ): boolean {
    this.lastEval = metrics;
    this.lastEvalStep = this.step;
    this.history.push({
      step: this.step,
      epoch: epochAt(plan, this.step),
      [EVAL_KEYS.loss]: metrics.loss,
      [EVAL_KEYS.accuracy]: metrics.accuracy,
      [EVAL_KEYS.f1]: metrics.f1,
    });
    const value = metrics[options.metric];
    if (!isImprovement(options.metric, value, this.bestMetric)) {
      this.evalsWithoutImprovement++;
      return false;
    }
    this.bestMetric = value;
    this.bestCheckpoint = options.checkpoint;
    this.bestEval = metrics;
    this.evalsWithoutImprovement = 0;
    return true;
  }

  /**
   * Whether `--early_stopping_patience` ends the run now: `patience` evaluations in a row
   * without a better metric (the HF `EarlyStoppingCallback`); 0 = never.
   */
  earlyStopped(patience: number): boolean {
    return patience > 0 && this.evalsWithoutImprovement >= patience;
  }

  /** The `trainer_state.json` of a checkpoint written now. */
  toTrainerState(
    plan: RunPlan,
    options: {
      config: TrainConfig;
      optimizerSteps: number;
      data?: TrainerState["data"];
      runId?: string;
    },
  ): TrainerState {
    const { step } = this;
    return {
      version: 1,
      global_step: step,
      epoch: epochAt(plan, step),
      epoch_index: Math.floor(step / plan.stepsPerEpoch),
      batches_consumed_in_epoch: Math.min(
        plan.batchesPerEpoch,
        (step % plan.stepsPerEpoch) * plan.accumulation,
      ),
      steps_per_epoch: plan.stepsPerEpoch,
      total_steps: plan.totalSteps,
      optimizer_steps: options.optimizerSteps,
      rng: { seed: options.config.seed, scheme: RNG_SCHEME },
      best_metric: this.bestMetric,
      best_model_checkpoint: this.bestCheckpoint,
      evals_without_improvement: this.evalsWithoutImprovement,
      nonfinite_steps: this.nonfiniteSteps,
      consecutive_nonfinite: this.consecutiveNonfinite,
      log_history: [...this.history],
      config: { ...options.config },
      ...(options.data ? { data: options.data } : {}),
      ...(options.runId ? { run_id: options.runId } : {}),
    };
  }
}

/** Sums over one logging interval: mean loss and gradient norm, examples per second. */
export class LogInterval {
  #loss = 0;
  #gradNorm = 0;
  #steps = 0;
  #examples = 0;
  #started = performance.now();

  /** Adds one optimizer step over `examples` examples (skipped steps count examples only). */
  add(result: StepResult, examples: number): void {
    this.#examples += examples;
    if (!result.applied) return;
    this.#loss += result.loss;
    this.#gradNorm += result.gradNorm;
    this.#steps++;
  }

  /** Applied steps so far in the interval. */
  get steps(): number {
    return this.#steps;
  }

  /** Mean loss of the applied steps (NaN when none). */
  get meanLoss(): number {
    return this.#steps ? this.#loss / this.#steps : NaN;
  }

  /** Mean gradient norm of the applied steps (NaN when none). */
  get meanGradNorm(): number {
    return this.#steps ? this.#gradNorm / this.#steps : NaN;
  }

  /** Examples per second since the interval started. */
  examplesPerSecond(now = performance.now()): number {
    return this.#examples / ((now - this.#started) / 1000);
  }

  /** Starts a new interval. */
  reset(): void {
    this.#loss =
      this.#gradNorm =
      this.#steps =
      this.#examples =
        0;
    this.#started = performance.now();
  }
}
