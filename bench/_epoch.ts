/**
 * The benchmark's MRPC epoch plans (folder-private): a training epoch of synthetic examples with
 * MRPC's real token lengths, batched the way `train` batches it, and what each padding computes.
 *
 * Paddings: `max` pads every batch to `max_seq_length` (HF run_glue's default), `dynamic` pads
 * to the longest example of a shuffled batch (`collate`), `grouped` is `--group_by_length`
 * (`epochOrder` with HF's length grouping, then `collate`).
 *
 * @module
 */
import { type Batch, collate, type EncodedExample, epochOrder } from "../data/mod.ts";
import { createRng } from "../core/mod.ts";
import { splitBatch } from "../train/mod.ts";

/** How an epoch's batches are padded. */
export type Padding = "max" | "dynamic" | "grouped";

/** Every padding, in report order. */
export const PADDINGS: readonly Padding[] = ["max", "dynamic", "grouped"];

/** Options of {@linkcode epochBatches}. */
export interface EpochPlanOptions {
  readonly batchSize: number;
  readonly padding: Padding;
  /** Sequences are truncated to, and `max` pads to, this length. */
  readonly maxSeqLength: number;
  readonly seed: number;
  readonly padId: number;
  /** Token ids are drawn from `[1, vocabSize)` (at least 1000 when the vocabulary allows). */
  readonly vocabSize: number;
}

/**
 * Synthetic encoded examples with the given token lengths (truncated to `maxSeqLength`), random
 * token ids and labels; deterministic for a seed.
 */
export function syntheticExamples(
  lengths: readonly number[],
  options: Pick<EpochPlanOptions, "maxSeqLength" | "seed" | "vocabSize">,
): EncodedExample[] {
  const rng = createRng(options.seed);
  const low = options.vocabSize > 2000 ? 1000 : 1;
  return lengths.map((len) => {
    const n = Math.min(len, options.maxSeqLength);
    const inputIds = Array.from(
      { length: n },
      () => low + Math.floor(rng() * (options.vocabSize - low)),
    );
    return { inputIds, label: rng() < 0.5 ? 0 : 1, truncated: len > n };
  });
}

/** The epoch's batches in training order, padded as `options.padding` says. */
export function epochBatches(
  examples: readonly EncodedExample[],
  options: EpochPlanOptions,
): Batch[] {
  const { batchSize, padding, seed, padId } = options;
  const lengths = examples.map((e) => e.inputIds.length);
  const order = epochOrder(examples.length, {
    seed,
    epoch: 0,
    groupByLength: padding === "grouped" ? { lengths, batchSize } : undefined,
  });
  const out: Batch[] = [];
  for (let start = 0; start < order.length; start += batchSize) {
    const batch = collate(examples, order.slice(start, start + batchSize), { padId });
    out.push(padding === "max" ? padTo(batch, options.maxSeqLength, padId) : batch);
  }
  return out;
}

/** `batch` right-padded to `seqLen` tokens (unchanged when already that long). */
export function padTo(batch: Batch, seqLen: number, padId: number): Batch {
  if (batch.seqLen >= seqLen) return batch;
  const { batchSize: b, seqLen: s } = batch;
  const inputIds = new Int32Array(b * seqLen).fill(padId);
  const attentionMask = new Int32Array(b * seqLen);
  for (let r = 0; r < b; r++) {
    inputIds.set(batch.inputIds.subarray(r * s, (r + 1) * s), r * seqLen);
    attentionMask.set(batch.attentionMask.subarray(r * s, (r + 1) * s), r * seqLen);
  }
  return { ...batch, seqLen, inputIds, attentionMask };
}

/** Padded token positions of `batches`: what the model computes on. */
export function paddedTokens(batches: readonly Batch[]): number {
  return batches.reduce((sum, b) => sum + b.batchSize * b.seqLen, 0);
}

/**
 * Token positions computed when each batch runs as micro-batches of at most `maxRows(seqLen)`
 * rows, each re-padded to its own longest example (as the training step splits them).
 */
export function microBatchTokens(
  batches: readonly Batch[],
  maxRows: (seqLen: number) => number,
): number {
  let sum = 0;
  for (const batch of batches) {
    for (const m of splitBatch(batch, maxRows(batch.seqLen))) {
      sum += m.batch.batchSize * m.batch.seqLen;
    }
  }
  return sum;
}

/**
 * `count` batch positions spread evenly over `total` batches (the middle of each of `count`
 * equal stretches), skipping `exclude`: a slice that sees short and long batches alike, since
 * length-grouped orders put the longest batches first.
 */
export function spreadPositions(total: number, count: number, exclude: number): number[] {
  const candidates = Array.from({ length: total }, (_, i) => i).filter((i) => i !== exclude);
  const n = Math.min(count, candidates.length);
  return Array.from(
    { length: n },
    (_, i) => candidates[Math.floor(((i + 0.5) * candidates.length) / n)],
  );
}
