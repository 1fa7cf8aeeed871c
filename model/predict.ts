/**
 * Batched evaluation-mode inference: logits, softmax probabilities and argmax labels for encoded
 * sentence pairs, in input order, and loading a fine-tuned model folder for it.
 *
 * Batches are unshuffled and dynamically padded (`evalBatches`), dropout is off, and each batch's
 * logits are read back once and disposed, so a pass leaves no tensor behind.
 *
 * @example
 * ```ts
 * const { dir, config, weights } = await loadFineTuned("models/best", { hub });
 * const tokenizer = await loadTokenizer(dir, { maxSeqLength: 128 });
 * await initBackend("auto", { log: console.error });
 * const model = DistilBertClassifier.fromWeights(config, weights, { source: dir });
 * const encoded = encodeExamples(await readMrpcTsv("dev.tsv"), tokenizer);
 * const predictions = await predict(model, encoded, { batchSize: 64, padId: tokenizer.padId });
 * predictions[0]; // { index: 0, logits: [-1.2, 2.3], probabilities: [0.03, 0.97], label: 1 }
 * model.dispose();
 * ```
 *
 * @module
 */
import { type EncodedExample, evalBatches } from "../data/mod.ts";
import { type HubOptions } from "../hub/mod.ts";
import { InputError } from "../core/mod.ts";
import type { DistilBertClassifier } from "./distilbert.ts";
import { loadPretrained, type PretrainedModel, resolveModelDir } from "./hf_folder.ts";

/** The prediction for one example. */
export interface Prediction {
  /** 0-based position of the example in the input. */
  readonly index: number;
  /** The model's float32 logits, one per class (exact float32 values as numbers). */
  readonly logits: number[];
  /** Softmax of `logits`, computed in float64. */
  readonly probabilities: number[];
  /** The class with the largest logit (the first on a tie, as `torch.argmax`). */
  readonly label: number;
}

/** Options of {@linkcode predict}. */
export interface PredictOptions {
  /** Examples per forward pass (the last batch may be smaller). */
  readonly batchSize: number;
  /** Token id written into padded positions (the tokenizer's `[PAD]`). */
  readonly padId: number;
}

/** What {@linkcode predict} needs of a model: evaluation-mode logits of a batch. */
export type LogitsModel = Pick<DistilBertClassifier, "logits">;

/**
 * Runs `model` in evaluation mode (no dropout) over `examples` in batches and returns one
 * {@linkcode Prediction} per example, in input order. Every tensor it creates is disposed.
 */
export async function predict(
  model: LogitsModel,
  examples: readonly EncodedExample[],
  options: PredictOptions,
): Promise<Prediction[]> {
  const out: Prediction[] = new Array(examples.length);
  for (const batch of evalBatches(examples, options)) {
    const logits = model.logits(batch, { training: false }); // [batch, numLabels]
    let values: Float32Array;
    try {
      values = (await logits.data()) as Float32Array;
    } finally {
      logits.dispose();
    }
    const numLabels = values.length / batch.batchSize;
    batch.indices.forEach((index, row) => {
      const rowLogits = Array.from(values.subarray(row * numLabels, (row + 1) * numLabels));
      out[index] = {
        index,
        logits: rowLogits,
        probabilities: softmax(rowLogits),
        label: argmax(rowLogits),
      };
    });
  }
  return out;
}

/** Numerically stable softmax of `logits` in float64. */
export function softmax(logits: ArrayLike<number>): number[] {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) max = Math.max(max, logits[i]);
  const exps = Array.from(logits, (l) => Math.exp(l - max));
  const sum = exps.reduce((a, b) => a + b, 0);
  return exps.map((e) => e / sum);
}

/** Index of the largest value (the first one on a tie); -1 for an empty array. */
export function argmax(values: ArrayLike<number>): number {
  let best = -1;
  for (let i = 0; i < values.length; i++) {
    if (best === -1 || values[i] > values[best]) best = i;
  }
  return best;
}

/** Options of {@linkcode loadFineTuned}. */
export interface LoadFineTunedOptions {
  /** Needed only when `nameOrDir` is a hub id rather than a local folder. */
  readonly hub?: HubOptions;
}

/**
 * Resolves and loads a fine-tuned `DistilBertForSequenceClassification` folder (or hub id) for
 * inference, without touching TensorFlow.js (build the model with
 * `DistilBertClassifier.fromWeights` once a backend is active). A checkpoint without a
 * classification head (e.g. the hub's masked-LM `distilbert-base-uncased`) is an `InputError`:
 * its predictions would come from a random head.
 */
export async function loadFineTuned(
  nameOrDir: string,
  options: LoadFineTunedOptions = {},
): Promise<PretrainedModel> {
  const dir = await resolveModelDir(nameOrDir, { hub: options.hub });
  const pretrained = await loadPretrained(dir, { seed: 0 });
  if (pretrained.headInitialised) {
    throw new InputError(
      `Cannot predict with model "${nameOrDir}": it has no classification head ` +
        `("pre_classifier", "classifier"); fine-tune it first`,
    );
  }
  return pretrained;
}
