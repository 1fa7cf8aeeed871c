/**
 * The one weight initialisation of mrpc-tune, as Hugging Face's `_init_weights` for DistilBERT:
 * Linear and Embedding weights N(0, `initializer_range`) (the `[PAD]` embedding row zero), biases
 * 0, LayerNorm weights 1. Values come from the serialisable PRNG of data/ (not tfjs), so they are
 * the same on every backend, and the classification head of a random model is exactly the head
 * that a masked-LM checkpoint gets when it is loaded for classification.
 *
 * @example
 * ```ts
 * const head = initHeadWeights(config, 42); // pre_classifier / classifier, disk layout
 * const all = initWeights(config, 42);      // every parameter; its head equals `head`
 * ```
 *
 * @module
 */
import { createRng, deriveSeed, type Rng } from "../core/mod.ts";
import type { DistilBertConfig } from "./config.ts";
import { distilBertParamShapes, HEAD_PARAM_NAMES, type WeightData } from "./weight_layout.ts";

function initialValue(
  config: DistilBertConfig,
  name: string,
  shape: number[],
  rng: Rng,
): Float32Array {
  const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
  if (name.endsWith(".bias")) return data;
  if (/LayerNorm|layer_norm/.test(name)) return data.fill(1);
  const std = config.initializer_range;
  for (let i = 0; i < data.length; i++) data[i] = rng.normal() * std;
  if (name.endsWith("word_embeddings.weight")) {
    const dim = shape[1], pad = config.pad_token_id;
    data.fill(0, pad * dim, (pad + 1) * dim); // [vocab, dim]: the [PAD] row is zero
  }
  return data;
}

/**
 * N(0, `initializer_range`) weights and zero biases for the classification head
 * (`pre_classifier`, `classifier`), disk layout, from `seed`.
 */
export function initHeadWeights(config: DistilBertConfig, seed: number): Map<string, WeightData> {
  const shapes = distilBertParamShapes(config);
  const rng = createRng(seed);
  const out = new Map<string, WeightData>();
  for (const name of HEAD_PARAM_NAMES) {
    const shape = shapes.get(name)!;
    out.set(name, { shape, data: initialValue(config, name, shape, rng) });
  }
  return out;
}

/**
 * Every parameter of a fresh `DistilBertForSequenceClassification`, disk layout, in state_dict
 * order: the encoder from a stream derived from `seed`, the head from
 * {@linkcode initHeadWeights}`(config, seed)`.
 */
export function initWeights(config: DistilBertConfig, seed: number): Map<string, WeightData> {
  const head = initHeadWeights(config, seed);
  const rng = createRng(deriveSeed(seed, 1));
  const out = new Map<string, WeightData>();
  for (const [name, shape] of distilBertParamShapes(config)) {
    out.set(name, head.get(name) ?? { shape, data: initialValue(config, name, shape, rng) });
  }
  return out;
}
