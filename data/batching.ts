/**
 * From encoded sentence pairs to model batches: dynamic padding to the longest sequence of each
 * batch, seeded per-epoch shuffling (optionally grouped by length as Hugging Face's
 * `LengthGroupedSampler`), and unshuffled batching for evaluation and prediction.
 *
 * Every epoch visits every example exactly once and keeps the final smaller batch (`drop_last`
 * false). An epoch's order is a pure function of `(seed, epoch)`, so a resumed run needs only the
 * epoch and the number of batches already consumed (`startBatch`).
 *
 * @example
 * ```ts
 * const encoded = encodeExamples(trainExamples, tokenizer);
 * const order = epochOrder(encoded.length, { seed: 42, epoch: 0 });
 * for (const batch of batchesInOrder(encoded, order, { batchSize: 32, padId: tokenizer.padId })) {
 *   batch.inputIds; // Int32Array [batchSize * seqLen]
 * }
 * ```
 *
 * @module
 */
import type { PairExample } from "./example.ts";
import { createRng, deriveSeed, shuffleInPlace } from "../core/mod.ts";
import type { PairTokenizer } from "./tokenizer.ts";

/** One tokenized example, ready for batching. */
export interface EncodedExample {
  /** `[CLS] a [SEP] b [SEP]` token ids, unpadded. */
  readonly inputIds: readonly number[];
  /** 0 or 1; absent for the unlabelled test split. */
  readonly label?: 0 | 1;
  /** True when truncation to `max_seq_length` removed tokens. */
  readonly truncated: boolean;
}

/** A padded batch in row-major flat arrays. */
export interface Batch {
  readonly batchSize: number;
  /** The longest sequence in this batch (dynamic padding). */
  readonly seqLen: number;
  /** Token ids, `[batchSize * seqLen]`, right-padded with the tokenizer's pad id. */
  readonly inputIds: Int32Array;
  /** 1 on real tokens, 0 on padding, `[batchSize * seqLen]`. */
  readonly attentionMask: Int32Array;
  /** `[batchSize]`: 0 or 1, or -1 for an unlabelled example. */
  readonly labels: Int32Array;
  /** Positions of the batch's rows in the encoded-examples array. */
  readonly indices: readonly number[];
}

/** Tokenizes examples into `[CLS] a [SEP] b [SEP]` encodings (same order). */
export function encodeExamples(
  examples: readonly PairExample[],
  tokenizer: PairTokenizer,
): EncodedExample[] {
  return examples.map((ex) => {
    const { inputIds, truncated } = tokenizer.encodePair(ex.sentence1, ex.sentence2);
    return ex.label === undefined
      ? { inputIds, truncated }
      : { inputIds, label: ex.label, truncated };
  });
}

/** Options of {@linkcode collate}. */
export interface CollateOptions {
  /** Id written into padded positions (the tokenizer's `[PAD]`). */
  readonly padId: number;
}

/** Pads the examples at `indices` to their longest sequence and packs them into a {@linkcode Batch}. */
export function collate(
  examples: readonly EncodedExample[],
  indices: readonly number[],
  options: CollateOptions,
): Batch {
  if (indices.length === 0) throw new RangeError("collate needs at least one example");
  let seqLen = 0;
  for (const i of indices) seqLen = Math.max(seqLen, examples[i].inputIds.length);
  const batchSize = indices.length;
  const inputIds = new Int32Array(batchSize * seqLen).fill(options.padId);
  const attentionMask = new Int32Array(batchSize * seqLen);
  const labels = new Int32Array(batchSize);
  indices.forEach((exampleIndex, row) => {
    const ex = examples[exampleIndex];
    inputIds.set(ex.inputIds, row * seqLen);
    attentionMask.fill(1, row * seqLen, row * seqLen + ex.inputIds.length);
    labels[row] = ex.label ?? -1;
  });
  return { batchSize, seqLen, inputIds, attentionMask, labels, indices: [...indices] };
}

/** Options of {@linkcode batchesInOrder}. */
export interface BatchesOptions extends CollateOptions {
  readonly batchSize: number;
  /** Batches of this order already consumed (resume): they are skipped, not built. */
  readonly startBatch?: number;
}

/** Number of batches an epoch of `n` examples has (the last one may be smaller). */
export function batchCount(n: number, batchSize: number): number {
  checkBatchSize(batchSize);
  return Math.ceil(n / batchSize);
}

/** Cuts `order` into consecutive batches of `batchSize` (the last one smaller) and collates each. */
export function* batchesInOrder(
  examples: readonly EncodedExample[],
  order: readonly number[],
  options: BatchesOptions,
): Generator<Batch> {
  const { batchSize } = options;
  checkBatchSize(batchSize);
  for (
    let start = (options.startBatch ?? 0) * batchSize;
    start < order.length;
    start += batchSize
  ) {
    yield collate(examples, order.slice(start, start + batchSize), options);
  }
}

/** Options of {@linkcode evalBatches}: batch size and pad id. */
export type EvalBatchesOptions = Omit<BatchesOptions, "startBatch">;

/** Unshuffled batches in input order, for evaluation and prediction. */
export function evalBatches(
  examples: readonly EncodedExample[],
  options: EvalBatchesOptions,
): Generator<Batch> {
  return batchesInOrder(examples, examples.map((_, i) => i), options);
}

/** Options of {@linkcode epochOrder}. */
export interface EpochOrderOptions {
  /** The run's seed (uint32). */
  readonly seed: number;
  /** 0-based epoch: each epoch gets its own permutation. */
  readonly epoch: number;
  /**
   * HF `--group_by_length`: the lengths to group by and the batch size the sampler groups for
   * (HF's Trainer passes `per_device_train_batch_size * gradient_accumulation_steps`).
   */
  readonly groupByLength?: { readonly lengths: readonly number[]; readonly batchSize: number };
}

/**
 * The order in which epoch `epoch` visits `n` examples: a permutation of `0..n-1` that depends only
 * on `(seed, epoch)` (and the lengths, when grouping). Without grouping it is a Fisher–Yates
 * shuffle; with grouping it is {@linkcode lengthGroupedOrder} applied to such a shuffle.
 */
export function epochOrder(n: number, options: EpochOrderOptions): number[] {
  const rng = createRng(deriveSeed(options.seed, options.epoch));
  const permutation = shuffleInPlace(Array.from({ length: n }, (_, i) => i), rng);
  const group = options.groupByLength;
  if (!group) return permutation;
  if (group.lengths.length !== n) {
    throw new RangeError(`groupByLength has ${group.lengths.length} lengths for ${n} examples`);
  }
  return lengthGroupedOrder(permutation, group.lengths, group.batchSize);
}

/**
 * Hugging Face's `get_length_grouped_indices` (transformers `trainer_pt_utils.py`), given its random
 * permutation: `megaBatchMult = min(floor(n / (batchSize * 4)), 50)`, at least 1; cut the
 * permutation into mega-batches of `megaBatchMult * batchSize`; sort each by length, longest first
 * (a stable sort, as Python's `sorted`); then swap the first element of the first mega-batch with
 * the first element of the mega-batch holding the longest example (the first such mega-batch), so
 * the longest example lands in the first batch. Mega-batches are not shuffled afterwards. Only the
 * random numbers differ from HF (this PRNG, not torch's).
 */
export function lengthGroupedOrder(
  permutation: readonly number[],
  lengths: readonly number[],
  batchSize: number,
): number[] {
  checkBatchSize(batchSize);
  const n = permutation.length;
  const megaBatchMult = Math.max(1, Math.min(Math.floor(n / (batchSize * 4)), 50));
  const megaSize = megaBatchMult * batchSize;
  const megaBatches: number[][] = [];
  for (let i = 0; i < n; i += megaSize) {
    megaBatches.push(permutation.slice(i, i + megaSize).sort((a, b) => lengths[b] - lengths[a]));
  }
  if (megaBatches.length === 0) return [];
  let maxIdx = 0;
  megaBatches.forEach((mb, i) => {
    if (lengths[mb[0]] > lengths[megaBatches[maxIdx][0]]) maxIdx = i;
  });
  const first = megaBatches[0];
  [first[0], megaBatches[maxIdx][0]] = [megaBatches[maxIdx][0], first[0]];
  return megaBatches.flat();
}

function checkBatchSize(batchSize: number): void {
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new RangeError(`batchSize must be a positive integer, got ${batchSize}`);
  }
}
