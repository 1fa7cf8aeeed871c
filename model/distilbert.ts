/**
 * Hugging Face `DistilBertForSequenceClassification` in TensorFlow.js, parameter for parameter.
 *
 * Parameters are `tf.Variable`s keyed by HF state_dict name, held in memory layout (Linear
 * weights `[in, out]`; see `toMemoryLayout`). Loading converts disk layout once, saving converts
 * back once. Gradients come back in memory layout, keyed by the same names, so that AdamW (which
 * is elementwise) can run on them directly.
 *
 * @example Load an HF folder's weights, train one step, save
 * ```ts
 * const config = parseDistilBertConfig(JSON.parse(await Deno.readTextFile("m/config.json")), "m/config.json");
 * const { tensors } = await readSafetensorsFile("m/model.safetensors");
 * const model = DistilBertClassifier.fromWeights(config, tensors, { source: "m/model.safetensors" });
 * const { loss, grads } = model.lossAndGrads(batch, { training: true, seed: step });
 * // ... clip + AdamW on grads (memory layout), then model.assignParams(updated) ...
 * tf.dispose([loss, ...grads.values()]);
 * const weights = await model.exportWeights(); // disk layout, for writeSafetensorsFile
 * model.dispose();
 * ```
 *
 * @module
 */
import type { Batch } from "../data/mod.ts";
import { tf } from "../backend/mod.ts";
import type { DistilBertConfig } from "./config.ts";
import { crossEntropy } from "./_ops.ts";
import { forwardLogits, type ForwardOptions } from "./_forward.ts";
import { initWeights } from "./init.ts";
import { TransposedWeights } from "./_transposed.ts";
import {
  distilBertParamShapes,
  toDiskLayout,
  toMemoryLayout,
  type WeightData,
} from "./weight_layout.ts";

export type { ForwardOptions };

/** Options of `DistilBertClassifier.fromWeights`. */
export interface FromWeightsOptions {
  /** Names the weights' file in error messages (default `"weights"`). */
  source?: string;
}

/** Options of `lossAndGrads`. */
export interface LossAndGradsOptions extends ForwardOptions {
  /** Gradients are those of `lossScale * loss` (e.g. 1 / micro-batches); default 1. */
  lossScale?: number;
  /**
   * Return the word-embedding gradient as rows (`LossAndGrads.rowGrads`: only the vocabulary
   * rows of the batch's tokens) instead of a dense `[vocab_size, dim]` tensor in `grads`. The
   * values are the same (the other rows' gradient is zero); default false.
   */
  sparseWordGrad?: boolean;
}

/** A gradient that is zero outside some rows of a 2-D parameter. */
export interface RowGrad {
  /** The parameter rows (e.g. token ids), distinct, in first-use order. */
  readonly rows: Int32Array;
  /** `[rows.length, columns]`: the gradient of each of those rows. */
  readonly values: tf.Tensor2D;
}

/** What `lossAndGrads` returns; the caller disposes every tensor. */
export interface LossAndGrads {
  /** Mean cross-entropy over the batch (not scaled by `lossScale`). */
  loss: tf.Scalar;
  /** Gradient of every parameter (but those in `rowGrads`), memory layout, keyed by HF name. */
  grads: Map<string, tf.Tensor>;
  /** Row-sparse gradients by HF name (the word embeddings with `sparseWordGrad`), else empty. */
  rowGrads: Map<string, RowGrad>;
}

/** HF name of the word-embedding table. */
export const WORD_EMBEDDINGS = "distilbert.embeddings.word_embeddings.weight";

let nextModelId = 0;

/** A DistilBERT sequence classifier whose parameters are `tf.Variable`s (see module docs). */
export class DistilBertClassifier {
  /** The validated config the model was built from. */
  readonly config: DistilBertConfig;
  /** Every parameter, memory layout, keyed by HF name, in state_dict order. */
  readonly params: Map<string, tf.Variable>;
  readonly #hfNames = new Map<string, string>();
  /** Linear weights transposed for the backward passes between two updates. */
  readonly #transposed: TransposedWeights;

  private constructor(config: DistilBertConfig, values: Map<string, tf.Tensor>) {
    this.config = config;
    this.params = new Map();
    this.#transposed = new TransposedWeights(this.params);
    const id = nextModelId++;
    for (const [name, value] of values) {
      const variable = tf.variable(value, true, `distilbert${id}/${name}`);
      this.params.set(name, variable);
      this.#hfNames.set(variable.name, name);
    }
  }

  /**
   * Builds the model from disk-layout weights (e.g. `readSafetensorsFile(...).tensors`). Every
   * parameter of `distilBertParamShapes(config)` must be present with its shape; other tensors
   * are ignored (compare names against `distilBertParamShapes` to report them). Errors name the
   * source: `Cannot load "m/model.safetensors": tensor "classifier.weight" has shape [3, 24],
   * expected [2, 24]` or `...: missing tensors "pre_classifier.weight", "classifier.weight"`.
   */
  static fromWeights(
    config: DistilBertConfig,
    weights: ReadonlyMap<string, WeightData>,
    options: FromWeightsOptions = {},
  ): DistilBertClassifier {
    const source = options.source ?? "weights";
    const shapes = distilBertParamShapes(config);
    const missing = [...shapes.keys()].filter((n) => !weights.has(n));
    if (missing.length > 0) {
      const shown = missing.slice(0, 5).map((n) => `"${n}"`).join(", ");
      const more = missing.length > 5 ? ` and ${missing.length - 5} more` : "";
      throw new Error(
        `Cannot load "${source}": missing tensor${missing.length > 1 ? "s" : ""} ${shown}${more}`,
      );
    }
    const values = new Map<string, tf.Tensor>();
    try {
      for (const [name, shape] of shapes) {
        const w = weights.get(name)!;
        const size = w.shape.reduce((a, b) => a * b, 1);
        if (w.shape.join() !== shape.join() || w.data.length !== size) {
          throw new Error(
            `Cannot load "${source}": tensor "${name}" has shape [${w.shape.join(", ")}], ` +
              `expected [${shape.join(", ")}]`,
          );
        }
        const mem = toMemoryLayout(name, w.shape, w.data);
        values.set(name, tf.tensor(mem.data, mem.shape, "float32"));
      }
      return new DistilBertClassifier(config, values);
    } finally {
      tf.dispose([...values.values()]);
    }
  }

  /**
   * A freshly initialised model (HF's `_init_weights`, see `initWeights`), deterministic for a
   * given `seed`.
   */
  static random(config: DistilBertConfig, options: { seed: number }): DistilBertClassifier {
    return DistilBertClassifier.fromWeights(config, initWeights(config, options.seed), {
      source: "random init",
    });
  }

  /** Logits `[batchSize, numLabels]` of `batch`; the caller disposes them. */
  logits(batch: Batch, options: ForwardOptions): tf.Tensor2D {
    this.#checkBatch(batch, false);
    return tf.tidy(() => forwardLogits(this.config, (n) => this.#param(n), batch, options));
  }

  /** Mean cross-entropy of `batch` (every label a class id) without gradients; the caller disposes it. */
  loss(batch: Batch, options: ForwardOptions): tf.Scalar {
    this.#checkBatch(batch, true);
    return tf.tidy(() => {
      const logits = forwardLogits(this.config, (n) => this.#param(n), batch, options);
      return crossEntropy(logits, batch.labels);
    });
  }

  /**
   * Loss of `batch` (every label a class id) and the gradient of every parameter (memory layout). The
   * caller disposes `loss` and every gradient.
   */
  lossAndGrads(batch: Batch, options: LossAndGradsOptions): LossAndGrads {
    this.#checkBatch(batch, true);
    const scale = options.lossScale ?? 1;
    const transposed = this.#transposed.get();
    const sparse = options.sparseWordGrad === true ? this.#wordRows(batch.inputIds) : undefined;
    let loss: tf.Scalar | undefined;
    try {
      const vars = [...this.params.values()].filter((v) =>
        sparse === undefined || v !== sparse.table
      );
      if (sparse !== undefined) vars.push(sparse.rowsVar);
      const { value, grads } = tf.variableGrads(() => {
        const logits = forwardLogits(this.config, (n) => this.#param(n), batch, {
          ...options,
          transposed: (n) => transposed.get(n),
          wordRows: sparse === undefined
            ? undefined
            : { table: sparse.rowsVar as tf.Tensor2D, ids: sparse.ids, padId: sparse.padId },
        });
        const mean = crossEntropy(logits, batch.labels);
        loss = tf.keep(mean);
        return scale === 1 ? mean : tf.mul(mean, scale);
      }, vars);
      if (value !== loss) value.dispose();
      const byName = new Map<string, tf.Tensor>();
      const rowGrads = new Map<string, RowGrad>();
      for (const [varName, grad] of Object.entries(grads)) {
        if (sparse !== undefined && varName === sparse.rowsVar.name) {
          rowGrads.set(WORD_EMBEDDINGS, { rows: sparse.rows, values: grad as tf.Tensor2D });
        } else {
          byName.set(this.#hfNames.get(varName)!, grad);
        }
      }
      return { loss: loss!, grads: byName, rowGrads };
    } finally {
      sparse?.rowsVar.dispose();
    }
  }

  /**
   * The distinct token ids of `inputIds` (first-use order), a variable holding their embedding
   * rows, and the tokens as indices into it.
   */
  #wordRows(inputIds: Int32Array): {
    table: tf.Variable;
    rows: Int32Array;
    rowsVar: tf.Variable;
    ids: Int32Array;
    padId: number;
  } {
    const index = new Map<number, number>();
    const ids = new Int32Array(inputIds.length);
    for (let i = 0; i < inputIds.length; i++) {
      let r = index.get(inputIds[i]);
      if (r === undefined) {
        r = index.size;
        index.set(inputIds[i], r);
      }
      ids[i] = r;
    }
    const rows = Int32Array.from(index.keys());
    const table = this.#param(WORD_EMBEDDINGS) as tf.Variable;
    const rowsVar = tf.tidy(() => tf.variable(tf.gather(table, tf.tensor1d(rows, "int32")), true)); // [u, dim]
    return { table, rows, rowsVar, ids, padId: index.get(this.config.pad_token_id) ?? -1 };
  }

  /**
   * Replaces parameters with new values in memory layout (e.g. AdamW's output). Each gets a new
   * buffer, which also keeps XNNPACK from reusing stale packed weights (notes/tfjs-wasm.md).
   */
  assignParams(values: ReadonlyMap<string, Float32Array>): void {
    for (const [name, data] of values) {
      const param = this.#param(name) as tf.Variable;
      if (data.length !== param.size) {
        throw new Error(`Parameter "${name}" has ${param.size} values, got ${data.length}`);
      }
      const t = tf.tensor(data, param.shape, "float32");
      param.assign(t);
      t.dispose();
    }
    this.paramsChanged();
  }

  /**
   * Call after the parameters' values changed in place (an optimizer writing into their memory):
   * what is derived from them (the transposed Linear weights, when held) is made again.
   */
  paramsChanged(): void {
    this.#transposed.refresh();
  }

  /** Every parameter in disk layout (`[out, in]` Linear weights), keyed by HF name. */
  async exportWeights(): Promise<Map<string, WeightData>> {
    const out = new Map<string, WeightData>();
    for (const [name, param] of this.params) {
      const data = (await param.data()) as Float32Array;
      out.set(name, toDiskLayout(name, param.shape, data));
    }
    return out;
  }

  /** Frees every parameter; the model is unusable afterwards. */
  dispose(): void {
    this.#transposed.dispose();
    for (const param of this.params.values()) param.dispose();
    this.params.clear();
  }

  #param(name: string): tf.Tensor {
    const param = this.params.get(name);
    if (!param) throw new Error(`Unknown DistilBERT parameter "${name}"`);
    return param;
  }

  #checkBatch(batch: Batch, needLabels: boolean): void {
    const { batchSize: b, seqLen: s, inputIds, attentionMask, labels } = batch;
    const { vocab_size: vocab, max_position_embeddings: maxPos } = this.config;
    const fail = (msg: string): never => {
      throw new Error(`Invalid batch: ${msg}`);
    };
    if (!Number.isInteger(b) || b < 1 || !Number.isInteger(s) || s < 1) {
      fail(`batchSize ${b} and seqLen ${s} must be positive integers`);
    }
    if (s > maxPos) fail(`seqLen ${s} exceeds max_position_embeddings ${maxPos}`);
    if (inputIds.length !== b * s) {
      fail(`inputIds has ${inputIds.length} values, expected ${b * s}`);
    }
    if (attentionMask.length !== b * s) {
      fail(`attentionMask has ${attentionMask.length} values, expected ${b * s}`);
    }
    for (const id of inputIds) {
      if (id < 0 || id >= vocab) fail(`token id ${id} outside [0, ${vocab})`);
    }
    if (!needLabels) return;
    if (labels.length !== b) fail(`expected ${b} labels, got ${labels.length}`);
    const numLabels = this.config.id2label.length;
    for (const l of labels) {
      if (l < 0 || l >= numLabels) fail(`label ${l} outside [0, ${numLabels})`);
    }
  }
}
