/**
 * The benchmark's timed pieces (folder-private): the backend's matmul rate, training steps of a
 * fixed shape, evaluation, and a slice of an MRPC epoch. Each returns plain numbers; the caller
 * owns the model and the stepper.
 *
 * @module
 */
import { type Batch } from "../data/mod.ts";
import { createRng } from "../core/mod.ts";
import type { DistilBertConfig } from "../model/mod.ts";
import { sampleRss } from "./_machine.ts";
import { microBatchTokens, spreadPositions } from "./_epoch.ts";
import { tf } from "../backend/mod.ts";
import type { TrainStepper } from "../train/mod.ts";

/** The matmul whose rate the benchmark reports: `[1024, 768] @ [768, 3072]`. */
export const MATMUL_SHAPE: readonly [number, number, number] = [1024, 768, 3072];

/** Learning rate of the benchmark's optimizer steps (a typical fine-tuning rate). */
export const BENCH_LR = 2e-5;

/** Multiply-accumulate weights of the encoder's matmuls: `n_layers · (4·dim² + 2·dim·hidden_dim)`. */
export function encoderMatmulParams(config: DistilBertConfig): number {
  const { n_layers: l, dim: d, hidden_dim: h } = config;
  return l * (4 * d * d + 2 * d * h);
}

/**
 * FLOPs of a training step on `tokens` token positions as the PyTorch peer counts them:
 * 6 × encoder matmul weights × tokens (forward 2, backward 4; attention's own matmuls, about 3%
 * more at 128 tokens, are not counted).
 */
export function trainFlops(config: DistilBertConfig, tokens: number): number {
  return 6 * encoderMatmulParams(config) * tokens;
}

/** Median of a non-empty list. */
export function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** A clock in milliseconds (`performance.now` unless a test injects one). */
export type Clock = () => number;

/**
 * Seconds per `[m, k] @ [k, n]` matmul on the active backend (median of `repeats`). The timed
 * region is the matmul and a one-element read that waits for it on backends that compute
 * asynchronously; reading the whole result back stays outside it.
 */
export async function matmulSeconds(
  shape: readonly [number, number, number],
  options: { warmup: number; repeats: number; clock?: Clock },
): Promise<number> {
  const clock = options.clock ?? (() => performance.now());
  const [m, k, n] = shape;
  const a = tf.randomNormal([m, k]) as tf.Tensor2D; // [m, k]
  const b = tf.randomNormal([k, n]) as tf.Tensor2D; // [k, n]
  const times: number[] = [];
  try {
    for (let i = 0; i < options.warmup + options.repeats; i++) {
      const t0 = clock();
      const c = tf.matMul(a, b); // [m, n]
      const corner = tf.slice(c, [0, 0], [1, 1]); // [1, 1]
      corner.dataSync();
      const dt = (clock() - t0) / 1000;
      corner.dispose();
      await c.data(); // read back outside the timed region
      c.dispose();
      if (i >= options.warmup) times.push(dt);
    }
  } finally {
    tf.dispose([a, b]);
  }
  return median(times);
}

/** A batch of `rows` examples of exactly `seqLen` real tokens (no padding), random ids and labels. */
export function fullBatch(
  rows: number,
  seqLen: number,
  options: { vocabSize: number; numLabels: number; seed: number },
): Batch {
  const rng = createRng(options.seed);
  const low = options.vocabSize > 2000 ? 1000 : 1;
  const inputIds = Int32Array.from(
    { length: rows * seqLen },
    () => low + Math.floor(rng() * (options.vocabSize - low)),
  );
  const labels = Int32Array.from({ length: rows }, () => Math.floor(rng() * options.numLabels));
  return {
    batchSize: rows,
    seqLen,
    inputIds,
    attentionMask: new Int32Array(rows * seqLen).fill(1),
    labels,
    indices: Array.from({ length: rows }, (_, i) => i),
  };
}

/** Timing options shared by the step-timing pieces. */
export interface StepTimingOptions {
  /** Untimed steps first. */
  readonly warmup: number;
  /** Timed steps. */
  readonly steps: number;
  readonly seed: number;
  readonly log: (line: string) => void;
  /** Milliseconds (default `performance.now`). */
  readonly clock?: Clock;
}

/** What the timing pieces need of a `TrainStepper`. */
export type Stepper = Pick<TrainStepper, "step">;

/**
 * Wall seconds of each timed optimizer step (forward, backward, clip, AdamW) over `batch`; the
 * `warmup` steps before them are run but not returned.
 */
export function trainStepSeconds(
  stepper: Stepper,
  batch: Batch,
  options: StepTimingOptions,
): number[] {
  const clock = options.clock ?? (() => performance.now());
  const times: number[] = [];
  for (let i = 0; i < options.warmup + options.steps; i++) {
    const t0 = clock();
    stepper.step([batch], { lr: BENCH_LR, seed: options.seed + i });
    const dt = (clock() - t0) / 1000;
    sampleRss();
    const warm = i < options.warmup;
    if (!warm) times.push(dt);
    options.log(
      `  train ${batch.batchSize}x${batch.seqLen} step ${i + 1}${warm ? " (warm-up)" : ""}: ` +
        `${dt.toFixed(2)} s`,
    );
  }
  return times;
}

/** What an evaluation pass runs: the model's logits, read back and disposed. */
export interface Evaluator {
  logits(
    batch: Batch,
    options: { training: false },
  ): { data(): Promise<unknown>; dispose(): void };
}

/** Wall seconds of each timed evaluation pass (logits read back) over `batch`, `rows` at a time. */
export async function evalSeconds(
  model: Evaluator,
  batch: Batch,
  options: StepTimingOptions & { rows: number },
): Promise<number[]> {
  const { batchSize: b, seqLen: s } = batch;
  const chunks: Batch[] = [];
  for (let start = 0; start < b; start += options.rows) {
    const rows = Math.min(options.rows, b - start);
    chunks.push({
      ...batch,
      batchSize: rows,
      inputIds: batch.inputIds.subarray(start * s, (start + rows) * s),
      attentionMask: batch.attentionMask.subarray(start * s, (start + rows) * s),
    });
  }
  const clock = options.clock ?? (() => performance.now());
  const times: number[] = [];
  for (let i = 0; i < options.warmup + options.steps; i++) {
    const t0 = clock();
    for (const chunk of chunks) {
      const logits = model.logits(chunk, { training: false }); // [rows, labels]
      await logits.data();
      logits.dispose();
    }
    const dt = (clock() - t0) / 1000;
    sampleRss();
    const warm = i < options.warmup;
    if (!warm) times.push(dt);
    options.log(`  eval ${b}x${s} pass ${i + 1}${warm ? " (warm-up)" : ""}: ${dt.toFixed(2)} s`);
  }
  return times;
}

/** What timing a slice of an epoch measured. */
export interface EpochSliceTiming {
  readonly batchesTimed: number;
  readonly secondsTimed: number;
  /** Token positions the timed batches computed (micro-batches re-padded). */
  readonly tokensTimed: number;
  /** Token positions the whole epoch computes the same way. */
  readonly epochTokens: number;
}

/**
 * Trains `warmup` untimed steps on the epoch's first batches (as the PyTorch peer does), then
 * `steps` timed batches spread over the epoch, and counts the tokens computed, for extrapolating
 * to the epoch (`epochEstimateSeconds`).
 */
export function epochSliceTiming(
  stepper: Stepper,
  batches: readonly Batch[],
  options: StepTimingOptions & { maxRows: (seqLen: number) => number },
): EpochSliceTiming {
  const clock = options.clock ?? (() => performance.now());
  const positions = spreadPositions(batches.length, options.steps, 0);
  const timed = positions.map((p) => batches[p]);
  for (let i = 0; i < Math.min(options.warmup, batches.length); i++) {
    const b = batches[i];
    stepper.step([b], { lr: BENCH_LR, seed: options.seed + i });
    options.log(`  epoch warm-up step on batch ${i + 1} (${b.batchSize}x${b.seqLen})`);
  }
  let seconds = 0;
  timed.forEach((batch, i) => {
    const t0 = clock();
    stepper.step([batch], { lr: BENCH_LR, seed: options.seed + options.warmup + i });
    const dt = (clock() - t0) / 1000;
    sampleRss();
    seconds += dt;
    options.log(
      `  epoch batch ${positions[i] + 1}/${batches.length} ` +
        `(${batch.batchSize}x${batch.seqLen}): ${dt.toFixed(2)} s`,
    );
  });
  return {
    batchesTimed: timed.length,
    secondsTimed: seconds,
    tokensTimed: microBatchTokens(timed, options.maxRows),
    epochTokens: microBatchTokens(batches, options.maxRows),
  };
}

/** The epoch's wall seconds extrapolated from a slice: timed seconds × all tokens ÷ timed tokens. */
export function epochEstimateSeconds(slice: EpochSliceTiming): number {
  return slice.secondsTimed * slice.epochTokens / slice.tokensTimed;
}

/** Examples/s and GFLOP/s of a training shape from its timed step seconds. */
export function trainRates(
  config: DistilBertConfig,
  shape: { readonly batch: number; readonly seqLen: number },
  stepSeconds: readonly number[],
): { medianStepSeconds: number; examplesPerSecond: number; gflops: number } {
  const med = median(stepSeconds);
  return {
    medianStepSeconds: med,
    examplesPerSecond: shape.batch / med,
    gflops: trainFlops(config, shape.batch * shape.seqLen) / med / 1e9,
  };
}
