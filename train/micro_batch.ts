/**
 * Splitting a batch into micro-batches that fit the backend's memory. tfjs keeps every saved
 * activation and intermediate gradient until backward ends, and the wasm heap is capped at
 * 4 GiB: DistilBERT-base at batch 16 fits neither at 128 nor at 64 tokens, while 4 × 128 and
 * 8 × 64 do (notes/tfjs-wasm.md). Each micro-batch's mean loss is weighted by its share of the
 * batch, so the summed gradients equal the whole batch's exactly (up to float rounding).
 *
 * @module
 */
import type { Batch } from "../data/batching.ts";
import type { DistilBertConfig } from "./distilbert_config.ts";

/** Bytes of wasm heap a training micro-batch may use for activations and gradients. */
export const WASM_TRAIN_BUDGET_BYTES = 2.6 * 2 ** 30;

/**
 * Estimated bytes tfjs holds at the peak of one training forward+backward pass per example of
 * `seqLen` tokens: per layer and token about 96·dim + 32·hidden_dim floats of saved activations,
 * gradients and LayerNorm/GELU intermediates, plus 24 floats per head and key position for the
 * attention scores, softmax, dropout mask and their gradients. Calibrated on DistilBERT-base
 * against the measured limits above (4 × 128 and 8 × 64 fit, 16 × 64 does not).
 */
export function trainBytesPerExample(config: DistilBertConfig, seqLen: number): number {
  const perToken = 96 * config.dim + 32 * config.hidden_dim + 24 * config.n_heads * seqLen;
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

/** One slice of a batch and the weight of its mean loss in the batch's mean loss. */
export interface MicroBatch {
  readonly batch: Batch;
  /** `rows / batch rows`: the micro-batch's share of the mean. */
  readonly weight: number;
}

/**
 * Cuts `batch` into consecutive micro-batches of at most `maxRows` rows, each padded to its own
 * longest sequence. A batch that fits is returned whole with weight 1.
 */
export function splitBatch(batch: Batch, maxRows: number): MicroBatch[] {
  if (batch.batchSize <= maxRows) return [{ batch, weight: 1 }];
  const out: MicroBatch[] = [];
  const s = batch.seqLen;
  for (let start = 0; start < batch.batchSize; start += maxRows) {
    const rows = Math.min(maxRows, batch.batchSize - start);
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
  }
  return out;
}
