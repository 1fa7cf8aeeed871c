/**
 * Splitting a batch into micro-batches that fit the backend's memory. tfjs keeps every saved
 * activation and intermediate gradient until backward ends, and the wasm heap is capped at
 * 4 GiB. Measured on DistilBERT-base (docs/perf.md, tf.profile peak tensor bytes): the
 * parameters take 0.25 GiB, a training pass adds 0.41 GiB whatever its size (a gradient per
 * parameter, the transposed Linear weights) and 75 / 161 / 255 / 359 MiB per example of 32 / 64 /
 * 96 / 128 tokens. The budget gives 4 × 128 and 9 × 64 per pass (heap 2.35 GiB): passes of
 * 6 × 128 and 14 × 64 also fit (heap 3.16 GiB) but were not measurably faster, so the budget
 * keeps the larger margin. Each micro-batch's mean loss is weighted by its share of the batch,
 * so the summed gradients equal the whole batch's exactly (up to float rounding).
 *
 * @module
 */
import type { Batch } from "../data/mod.ts";
import type { DistilBertConfig } from "../model/mod.ts";

/**
 * Bytes of wasm heap the examples of one training pass may take together (on top of the
 * parameters and the pass's fixed 0.41 GiB): peak tensor bytes stay near 2.2 GiB of the 4 GiB.
 */
export const WASM_TRAIN_BUDGET_BYTES = 1.5 * 2 ** 30;

/**
 * Bytes tfjs holds per example of `seqLen` tokens at the peak of a training forward+backward
 * pass: per layer and token 54·dim + 18·hidden_dim floats of saved activations, gradients and
 * LayerNorm/GELU intermediates, plus 18 floats per head and key position for the attention
 * scores, softmax, dropout mask and their gradients. Fitted to DistilBERT-base's measured
 * 75–359 MiB per example at 32–128 tokens (within 2%).
 */
export function trainBytesPerExample(config: DistilBertConfig, seqLen: number): number {
  const perToken = 54 * config.dim + 18 * config.hidden_dim + 18 * config.n_heads * seqLen;
  return 4 * seqLen * config.n_layers * perToken;
}

/** Rows per micro-batch that keep a training pass within `budgetBytes` (at least 1). */
export function maxTrainRows(
  config: DistilBertConfig,
  seqLen: number,
  budgetBytes: number = WASM_TRAIN_BUDGET_BYTES,
): number {
  return Math.max(1, Math.floor(budgetBytes / trainBytesPerExample(config, seqLen)));
}

/** How many rows one pass may hold on a backend: the one pass-size policy (trainer and bench). */
export interface PassSizes {
  /** Largest rows of a training (forward + backward) pass at `seqLen` tokens. */
  trainRows(seqLen: number): number;
  /** Largest rows of an evaluation (forward only) pass at `seqLen` tokens. */
  evalRows(seqLen: number): number;
}

/**
 * The pass sizes of `backend` for `config`: on wasm (4 GiB heap) training passes of
 * {@linkcode maxTrainRows} and evaluation passes of four times that (no saved activations);
 * other backends take any batch whole.
 */
export function passSizes(backend: string, config: DistilBertConfig): PassSizes {
  if (backend !== "wasm") {
    return { trainRows: () => Number.MAX_SAFE_INTEGER, evalRows: () => Number.MAX_SAFE_INTEGER };
  }
  return {
    trainRows: (seqLen) => maxTrainRows(config, seqLen),
    evalRows: (seqLen) => 4 * maxTrainRows(config, seqLen),
  };
}

/** One slice of a batch and the weight of its mean loss in the batch's mean loss. */
export interface MicroBatch {
  readonly batch: Batch;
  /** `rows / batch rows`: the micro-batch's share of the mean. */
  readonly weight: number;
}

/**
 * Cuts `batch` into as few consecutive micro-batches as `maxRows` allows, of even sizes (16 rows
 * at most 14 a pass run as 8 + 8, not 14 + 2: a pass's fixed cost is paid once per pass, so a
 * tiny last pass costs almost as much as a full one), each padded to its own longest sequence.
 * A batch that fits is returned whole with weight 1.
 */
export function splitBatch(batch: Batch, maxRows: number): MicroBatch[] {
  if (batch.batchSize <= maxRows) return [{ batch, weight: 1 }];
  const out: MicroBatch[] = [];
  const s = batch.seqLen;
  const passes = Math.ceil(batch.batchSize / maxRows);
  const base = Math.floor(batch.batchSize / passes), larger = batch.batchSize % passes;
  for (let k = 0, start = 0; k < passes; k++) {
    const rows = base + (k < larger ? 1 : 0);
    let len = 1;
    for (let r = start; r < start + rows; r++) {
      let n = 0;
      for (let t = 0; t < s; t++) n += batch.attentionMask[r * s + t];
      len = Math.max(len, n);
    }
    const inputIds = new Int32Array(rows * len);
    const attentionMask = new Int32Array(rows * len);
    for (let r = 0; r < rows; r++) {
      const from = (start + r) * s;
      inputIds.set(batch.inputIds.subarray(from, from + len), r * len);
      attentionMask.set(batch.attentionMask.subarray(from, from + len), r * len);
    }
    out.push({
      batch: {
        batchSize: rows,
        seqLen: len,
        inputIds,
        attentionMask,
        labels: batch.labels.slice(start, start + rows),
        indices: batch.indices.slice(start, start + rows),
      },
      weight: rows / batch.batchSize,
    });
    start += rows;
  }
  return out;
}
