/**
 * The training loop, top to bottom: batch, forward, backward, clip, step, schedule, log, eval,
 * checkpoint. Hugging Face Trainer semantics (see STYLE.md), atomic checkpoints, and exact resume:
 * every random choice is a pure function of the seed and the step, so a run resumed from
 * `checkpoint-N` continues bit-identically on the same backend.
 *
 * @module
 */
import { join } from "node:path";
import { batchCount, collate, epochOrder } from "../data/batching.ts";
import { deriveSeed } from "../data/rng.ts";
import { AdamW } from "./adamw.ts";
import { writeFileAtomic } from "../io/atomic_fs.ts";
import { type LogEntry, saveCheckpoint, type TrainerState } from "./checkpoint.ts";
import { rotateCheckpoints } from "./checkpoint_rotation.ts";
import { DistilBertClassifier } from "../model/distilbert.ts";
import { evaluate } from "./evaluate.ts";
import { lrAt, resolveWarmupSteps } from "./lr_schedule.ts";
import { type EvalMetrics, isImprovement } from "./metrics.ts";
import { maxTrainRows } from "./micro_batch.ts";
import { ProgressReporter } from "./progress.ts";
import type { TrainConfig } from "./train_config.ts";
import { firstNonFinite, TrainStepper } from "./train_step.ts";
import type { TrainSetup } from "./train_setup.ts";

/** Training stopped for a reason that is not bad input (e.g. divergence): exit code 1. */
export class TrainingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TrainingError";
  }
}

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

const RNG_SCHEME = "order: epochOrder(seed, epoch); dropout: deriveSeed(seed, step, batch, micro)";

/** Runs (or resumes) training as configured and leaves the best model in `checkpoint_dir`. */
export async function runTraining(
  config: TrainConfig,
  setup: TrainSetup,
  options: RunTrainingOptions,
): Promise<TrainResult> {
  const { log, progress } = options;
  const { pretrained, tokenizer, train, validation } = setup;
  const padId = tokenizer.padId;
  const bs = config.batch_size, accum = config.gradient_accumulation_steps;
  const microPerEpoch = batchCount(train.length, bs);
  const stepsPerEpoch = Math.ceil(microPerEpoch / accum);
  const totalSteps = config.max_steps > 0
    ? config.max_steps
    : Math.ceil(config.epochs * stepsPerEpoch);
  const schedule = {
    kind: config.lr_scheduler,
    baseLr: config.lr,
    totalSteps,
    warmupSteps: resolveWarmupSteps(totalSteps, {
      warmupSteps: config.warmup_steps,
      warmupRatio: config.warmup_ratio,
    }),
  };
  const evalEvery = config.eval_steps > 0 ? config.eval_steps : stepsPerEpoch;
  const lengths = train.map((e) => e.inputIds.length);
  const model = DistilBertClassifier.fromWeights(pretrained.config, pretrained.weights, {
    source: pretrained.dir,
  });
  const shapes = new Map([...model.params].map(([n, v]) => [n, v.shape] as const));
  const optimizer = new AdamW({ weightDecay: config.weight_decay });
  const resume = setup.resume;
  if (resume) optimizer.loadState(resume.optimizer);
  let splitNoted = false;
  const maxRows = (seqLen: number) => {
    if (options.backend !== "wasm") return Number.MAX_SAFE_INTEGER;
    const rows = maxTrainRows(pretrained.config, seqLen);
    if (rows < bs && !splitNoted) {
      splitNoted = true;
      log(
        `Batches of ${bs} do not fit the 4 GiB wasm heap at ${seqLen} tokens: running them as ` +
          `micro-batches of up to ${rows} (same gradients, summed)`,
      );
    }
    return rows;
  };
  const stepper = await TrainStepper.create(model, optimizer, {
    maxGradNorm: config.max_grad_norm,
    maxRows,
  });
  const evalBatchSize = options.backend === "wasm"
    ? Math.min(config.eval_batch_size, 4 * maxTrainRows(pretrained.config, config.max_seq_length))
    : config.eval_batch_size;

  const prior = resume?.state;
  let step = prior?.global_step ?? 0;
  let bestMetric = prior?.best_metric ?? null;
  let bestCheckpoint = prior?.best_model_checkpoint ?? null;
  let evalsWithoutImprovement = prior?.evals_without_improvement ?? 0;
  let nonfinite = prior?.nonfinite_steps ?? 0;
  let consecutive = prior?.consecutive_nonfinite ?? 0;
  const history: LogEntry[] = [...(prior?.log_history ?? [])];
  let lastEval: EvalMetrics | null = null;
  let lastEvalStep = -1;
  const evalByCheckpoint = new Map<string, EvalMetrics>();
  let order = null as { epoch: number; indices: number[] } | null;
  let interval = { loss: 0, steps: 0, examples: 0, gradNorm: 0, started: performance.now() };
  const runStart = performance.now(), startStep = step;

  const state = (): TrainerState => ({
    version: 1,
    global_step: step,
    epoch: step / stepsPerEpoch,
    epoch_index: Math.floor(step / stepsPerEpoch),
    batches_consumed_in_epoch: Math.min(microPerEpoch, (step % stepsPerEpoch) * accum),
    steps_per_epoch: stepsPerEpoch,
    total_steps: totalSteps,
    optimizer_steps: optimizer.stepCount,
    rng: { seed: config.seed, scheme: RNG_SCHEME },
    best_metric: bestMetric,
    best_model_checkpoint: bestCheckpoint,
    evals_without_improvement: evalsWithoutImprovement,
    nonfinite_steps: nonfinite,
    consecutive_nonfinite: consecutive,
    log_history: history,
    config: { ...config },
  });

  async function evaluateAndSave(): Promise<boolean> {
    const metrics = await evaluate(model, validation, { batchSize: evalBatchSize, padId });
    lastEval = metrics;
    lastEvalStep = step;
    history.push({
      step,
      epoch: step / stepsPerEpoch,
      "eval/loss": metrics.loss,
      "eval/accuracy": metrics.accuracy,
      "eval/f1": metrics.f1,
    });
    progress.line(
      `eval step ${step}: loss ${metrics.loss.toFixed(4)} accuracy ${
        metrics.accuracy.toFixed(4)
      } ` +
        `f1 ${metrics.f1.toFixed(4)} (${metrics.count} pairs)`,
    );
    const value = metrics[config.metric_for_best_model];
    const path = join(config.checkpoint_dir, `checkpoint-${step}`);
    if (isImprovement(config.metric_for_best_model, value, bestMetric)) {
      bestMetric = value;
      bestCheckpoint = path;
      evalsWithoutImprovement = 0;
    } else {
      evalsWithoutImprovement++;
    }
    const bad = firstNonFinite(stepper.params);
    if (bad) throw new TrainingError(`Refusing to save non-finite weights ("${bad}")`);
    await saveCheckpoint(config.checkpoint_dir, {
      config: pretrained.config,
      params: stepper.params,
      shapes,
      optimizer: optimizer.state(),
      state: state(),
      tokenizerDir: setup.tokenizerDir,
      extraJson: { "eval_results.json": evalJson(metrics, step) },
    });
    evalByCheckpoint.set(path, metrics);
    await rotateCheckpoints(config.checkpoint_dir, {
      keep: config.save_total_limit,
      bestPath: bestCheckpoint,
    });
    const patience = config.early_stopping_patience;
    return patience > 0 && evalsWithoutImprovement >= patience;
  }

  try {
    while (step < totalSteps) {
      const epoch = Math.floor(step / stepsPerEpoch), k = step % stepsPerEpoch;
      if (order?.epoch !== epoch) {
        const group = config.group_by_length ? { lengths, batchSize: bs * accum } : undefined;
        order = {
          epoch,
          indices: epochOrder(train.length, { seed: config.seed, epoch, groupByLength: group }),
        };
      }
      const batches = [];
      for (let j = k * accum; j < Math.min((k + 1) * accum, microPerEpoch); j++) {
        batches.push(collate(train, order.indices.slice(j * bs, (j + 1) * bs), { padId }));
      }
      const lr = lrAt(step, schedule);
      const result = stepper.step(batches, { lr, seed: deriveSeed(config.seed, step) });
      step++;
      if (!result.applied) {
        nonfinite++;
        consecutive++;
        progress.line(
          `step ${step}: skipped (non-finite ${
            Number.isFinite(result.loss) ? "gradient norm" : "loss"
          }); ` +
            `${consecutive} in a row, ${nonfinite} in all`,
        );
        if (consecutive >= config.max_consecutive_nonfinite) {
          throw new TrainingError(
            `Training diverged: ${consecutive} consecutive steps had a non-finite loss or gradient ` +
              `norm (last at step ${step}); try a lower --lr`,
          );
        }
      } else {
        consecutive = 0;
        interval.loss += result.loss;
        interval.gradNorm += result.gradNorm;
        interval.steps++;
      }
      interval.examples += batches.reduce((n, b) => n + b.batchSize, 0);
      const elapsed = (performance.now() - runStart) / 1000;
      const sample = {
        step,
        totalSteps,
        epoch: step / stepsPerEpoch,
        loss: interval.steps ? interval.loss / interval.steps : NaN,
        lr,
        examplesPerSecond: interval.examples / ((performance.now() - interval.started) / 1000),
        etaSeconds: (elapsed / (step - startStep)) * (totalSteps - step),
      };
      progress.update(sample);
      if (step % config.logging_steps === 0 || step === totalSteps) {
        if (interval.steps > 0) {
          history.push({
            step,
            epoch: sample.epoch,
            "train/loss": sample.loss,
            "train/lr": lr,
            "train/grad_norm": interval.gradNorm / interval.steps,
          });
        }
        progress.interval(sample);
        interval = { loss: 0, steps: 0, examples: 0, gradNorm: 0, started: performance.now() };
      }
      if (step % evalEvery === 0 || step === totalSteps) {
        if (await evaluateAndSave()) {
          progress.line(
            `Early stopping: ${evalsWithoutImprovement} evaluations without a better ` +
              `${config.metric_for_best_model}`,
          );
          break;
        }
      }
    }
    if (lastEvalStep !== step && (resume === null || step > resume.state.global_step)) {
      await evaluateAndSave();
    }
    await exportBest(config, bestCheckpoint, evalByCheckpoint, log);
  } finally {
    model.dispose();
  }
  const bestEval = bestCheckpoint ? await readEval(bestCheckpoint) : null;
  return {
    globalStep: step,
    bestCheckpoint,
    bestMetric,
    bestEval,
    lastEval,
    nonfiniteSteps: nonfinite,
  };
}

function evalJson(m: EvalMetrics, step: number): Record<string, number> {
  return {
    step,
    eval_loss: m.loss,
    eval_accuracy: m.accuracy,
    eval_f1: m.f1,
    eval_samples: m.count,
  };
}

async function readEval(checkpoint: string): Promise<EvalMetrics | null> {
  try {
    const j = JSON.parse(await Deno.readTextFile(join(checkpoint, "eval_results.json")));
    return { loss: j.eval_loss, accuracy: j.eval_accuracy, f1: j.eval_f1, count: j.eval_samples };
  } catch {
    return null;
  }
}

/** Copies the best checkpoint's model files into `checkpoint_dir` itself (each atomically). */
async function exportBest(
  config: TrainConfig,
  best: string | null,
  evals: Map<string, EvalMetrics>,
  log: (line: string) => void,
): Promise<void> {
  if (!best) return;
  for await (const entry of Deno.readDir(best)) {
    if (
      !entry.isFile || ["optimizer.safetensors", "checkpoint_complete.json"].includes(entry.name)
    ) {
      continue;
    }
    await writeFileAtomic(
      join(config.checkpoint_dir, entry.name),
      await Deno.readFile(join(best, entry.name)),
    );
  }
  const m = evals.get(best) ?? await readEval(best);
  log(
    `Best model (${config.metric_for_best_model} ${
      m?.[config.metric_for_best_model]
    }) from "${best}" ` +
      `saved to "${config.checkpoint_dir}"`,
  );
}
