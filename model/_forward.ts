/**
 * The forward pass of HF `DistilBertForSequenceClassification`, written against a parameter lookup
 * (folder-private; `DistilBertClassifier` is the public face). Mirrors `modeling_distilbert.py`:
 * attribute names are the weight names, with a shape comment on every tensor line.
 *
 * @module
 */
import type { Batch } from "../data/mod.ts";
import { tf } from "../backend/mod.ts";
import type { DistilBertConfig } from "./config.ts";
import {
  addLayerNorm,
  batchMatMul,
  dense,
  dropout,
  embeddingLookup,
  FLOAT32_MIN,
  gelu,
  layerNorm,
  mixSeed,
} from "./_ops.ts";

/** Options of a forward pass. */
export interface ForwardOptions {
  /** Training mode: dropout on (with the config's rates). Evaluation: dropout off. */
  training: boolean;
  /** Seed of this step's dropout masks (default 0): the same seed gives the same masks. */
  seed?: number;
}

/** Looks up a parameter (memory layout) by its HF name. */
export type ParamLookup = (name: string) => tf.Tensor;

/** Options of `forwardLogits` beyond `ForwardOptions` (the model's, not its callers'). */
export interface ForwardInternals extends ForwardOptions {
  /** Linear weights already transposed (`[out, in]`), by HF name, for the backward pass. */
  transposed?: (name: string) => tf.Tensor | undefined;
  /**
   * Word embeddings looked up in `table` (some rows of the vocabulary) at `ids` (row indices into
   * `table`, one per token) instead of the whole vocabulary at the batch's ids; `padId` is the
   * [PAD] token's row in `table`, or -1 when the batch has none. The values are the same; the
   * gradient is only that of `table`'s rows (a sparse word-embedding gradient).
   */
  wordRows?: WordRows;
}

/** A subset of the vocabulary's embedding rows, and the batch's tokens as indices into it. */
export interface WordRows {
  /** `[rows, dim]`. */
  readonly table: tf.Tensor2D;
  /** One row index per token of the batch, `batchSize · seqLen`. */
  readonly ids: Int32Array;
  /** Row of the [PAD] token in `table`, -1 when absent. */
  readonly padId: number;
}

interface Context {
  config: DistilBertConfig;
  p: ParamLookup;
  batch: number;
  seq: number;
  transposed?: (name: string) => tf.Tensor | undefined;
  keep: tf.Tensor4D; // [b, 1, 1, s]: 1 where attended
  fill: tf.Tensor4D; // [b, 1, 1, s]: 0 where attended, FLOAT32_MIN where masked
  training: boolean;
  seed: number;
  wordRows?: WordRows;
}

/**
 * Logits `[batchSize, numLabels]` of `batch`. Call inside `tf.tidy` (or a gradient function):
 * intermediate tensors are not disposed here.
 */
export function forwardLogits(
  config: DistilBertConfig,
  p: ParamLookup,
  batch: Batch,
  options: ForwardInternals,
): tf.Tensor2D {
  const { batchSize: b, seqLen: s } = batch;
  const keepValues = Float32Array.from(batch.attentionMask, (m) => (m === 0 ? 0 : 1));
  const ctx: Context = {
    config,
    p,
    batch: b,
    seq: s,
    transposed: options.transposed,
    keep: tf.tensor4d(keepValues, [b, 1, 1, s]),
    fill: tf.tensor4d(keepValues.map((k) => (k === 0 ? FLOAT32_MIN : 0)), [b, 1, 1, s]),
    training: options.training,
    seed: options.seed ?? 0,
    wordRows: options.wordRows,
  };
  let x = embeddings(ctx, batch.inputIds); // [b*s, dim]
  for (let i = 0; i < config.n_layers; i++) x = transformerBlock(ctx, x, i); // [b*s, dim]
  return classificationHead(ctx, x); // [b, labels]
}

/** Dropout in training mode, with a seed per site (0: embeddings, 1 + 2i / 2 + 2i: layer i). */
function drop<T extends tf.Tensor>(ctx: Context, x: T, rate: number, site: number): T {
  return ctx.training ? dropout(x, rate, mixSeed(ctx.seed, site)) : x;
}

function embeddings(ctx: Context, inputIds: Int32Array): tf.Tensor2D {
  const { config, p, batch: b, seq: s } = ctx;
  const prefix = "distilbert.embeddings";
  const rows = ctx.wordRows;
  const ids = tf.tensor1d(rows?.ids ?? inputIds, "int32"); // [b*s]
  const words = rows === undefined
    ? embeddingLookup(p(`${prefix}.word_embeddings.weight`), ids, config.pad_token_id) // [b*s, dim]
    : embeddingLookup(rows.table, ids, rows.padId); // [b*s, dim]
  const positions = tf.slice(p(`${prefix}.position_embeddings.weight`), [0, 0], [s, config.dim]); // [s, dim]
  const sum = tf.reshape<tf.Rank.R2>(tf.add(tf.reshape(words, [b, s, config.dim]), positions), [
    b * s,
    config.dim,
  ]); // [b*s, dim]
  const normed = layerNorm(sum, p(`${prefix}.LayerNorm.weight`), p(`${prefix}.LayerNorm.bias`)); // [b*s, dim]
  return drop(ctx, normed, config.dropout, 0);
}

function linear(ctx: Context, x: tf.Tensor2D, prefix: string): tf.Tensor2D {
  const name = `${prefix}.weight`;
  return dense(x, ctx.p(name), ctx.p(`${prefix}.bias`), ctx.transposed?.(name));
}

function attention(ctx: Context, x: tf.Tensor2D, layer: number): tf.Tensor2D {
  const { config, batch: b, seq: s } = ctx;
  const heads = config.n_heads;
  const headDim = config.dim / heads;
  const prefix = `distilbert.transformer.layer.${layer}.attention`;
  const split = (t: tf.Tensor2D) =>
    tf.transpose(tf.reshape(t, [b, s, heads, headDim]), [0, 2, 1, 3]); // [b, h, s, hd]
  const q = split(tf.div(linear(ctx, x, `${prefix}.q_lin`), Math.sqrt(headDim))); // [b, h, s, hd]
  const k = split(linear(ctx, x, `${prefix}.k_lin`)); // [b, h, s, hd]
  const v = split(linear(ctx, x, `${prefix}.v_lin`)); // [b, h, s, hd]
  const scores = batchMatMul(q, tf.transpose(k, [0, 1, 3, 2])); // [b, h, s, s]
  const masked = tf.add(tf.mul(scores, ctx.keep), ctx.fill); // [b, h, s, s]
  const weights = drop(ctx, tf.softmax(masked), config.attention_dropout, 1 + 2 * layer); // [b, h, s, s]
  const context = batchMatMul(weights, v); // [b, h, s, hd]
  const merged = tf.reshape<tf.Rank.R2>(tf.transpose(context, [0, 2, 1, 3]), [b * s, config.dim]); // [b*s, dim]
  return linear(ctx, merged, `${prefix}.out_lin`); // [b*s, dim]
}

function transformerBlock(ctx: Context, x: tf.Tensor2D, layer: number): tf.Tensor2D {
  const { config, p } = ctx;
  const prefix = `distilbert.transformer.layer.${layer}`;
  const attn = attention(ctx, x, layer); // [b*s, dim]
  const sa = addLayerNorm(
    attn,
    x,
    p(`${prefix}.sa_layer_norm.weight`),
    p(`${prefix}.sa_layer_norm.bias`),
  ); // [b*s, dim]
  const hidden = gelu(linear(ctx, sa, `${prefix}.ffn.lin1`)); // [b*s, hidden_dim]
  const ffn = drop(ctx, linear(ctx, hidden, `${prefix}.ffn.lin2`), config.dropout, 2 + 2 * layer); // [b*s, dim]
  return addLayerNorm(
    ffn,
    sa,
    p(`${prefix}.output_layer_norm.weight`),
    p(`${prefix}.output_layer_norm.bias`),
  ); // [b*s, dim]
}

function classificationHead(ctx: Context, x: tf.Tensor2D): tf.Tensor2D {
  const { config, batch: b, seq: s } = ctx;
  const cls = tf.reshape<tf.Rank.R2>(
    tf.slice(tf.reshape(x, [b, s, config.dim]), [0, 0, 0], [b, 1, config.dim]),
    [b, config.dim],
  ); // [b, dim]
  const pooled = tf.relu(linear(ctx, cls, "pre_classifier")); // [b, dim]
  const dropped = drop(ctx, pooled, config.seq_classif_dropout, 1 + 2 * config.n_layers); // [b, dim]
  return linear(ctx, dropped, "classifier"); // [b, labels]
}
