/**
 * DistilBERT parameter names, shapes and the disk <-> memory weight layout.
 *
 * Disk (safetensors, PyTorch) stores a Linear weight as `[out, in]`. In memory it is `[in, out]`,
 * so that `x @ W` and both gradient matmuls (`dy @ Wᵀ`, `xᵀ @ dy`, with explicit transposes) are
 * 2-D untransposed matmuls, the only ones the wasm backend runs on XNNPACK (notes/tfjs-wasm.md).
 * Every other tensor has the same layout in both places.
 *
 * @module
 */
import type { DistilBertConfig } from "./config.ts";

/** A tensor as plain data: row-major `data` of `shape`. */
export interface WeightData {
  shape: number[];
  data: Float32Array;
}

/** Names of the classification head's tensors (absent from the hub's masked-LM checkpoint). */
export const HEAD_PARAM_NAMES: readonly string[] = [
  "pre_classifier.weight",
  "pre_classifier.bias",
  "classifier.weight",
  "classifier.bias",
];

const LINEAR_WEIGHT =
  /(?:^|\.)(?:q_lin|k_lin|v_lin|out_lin|lin1|lin2|pre_classifier|classifier)\.weight$/;

/** Whether `name` is a Linear weight (stored `[out, in]` on disk, `[in, out]` in memory). */
export function isLinearWeight(name: string): boolean {
  return LINEAR_WEIGHT.test(name);
}

/**
 * Every parameter of `DistilBertForSequenceClassification` with its disk (`[out, in]`) shape, in
 * HF state_dict order.
 */
export function distilBertParamShapes(config: DistilBertConfig): Map<string, number[]> {
  const { dim, hidden_dim: hidden, vocab_size: vocab } = config;
  const shapes = new Map<string, number[]>();
  const linear = (prefix: string, out: number, inp: number) => {
    shapes.set(`${prefix}.weight`, [out, inp]);
    shapes.set(`${prefix}.bias`, [out]);
  };
  const norm = (prefix: string) => {
    shapes.set(`${prefix}.weight`, [dim]);
    shapes.set(`${prefix}.bias`, [dim]);
  };
  shapes.set("distilbert.embeddings.word_embeddings.weight", [vocab, dim]);
  shapes.set("distilbert.embeddings.position_embeddings.weight", [
    config.max_position_embeddings,
    dim,
  ]);
  norm("distilbert.embeddings.LayerNorm");
  for (let i = 0; i < config.n_layers; i++) {
    const p = `distilbert.transformer.layer.${i}`;
    for (const lin of ["q_lin", "k_lin", "v_lin", "out_lin"]) {
      linear(`${p}.attention.${lin}`, dim, dim);
    }
    norm(`${p}.sa_layer_norm`);
    linear(`${p}.ffn.lin1`, hidden, dim);
    linear(`${p}.ffn.lin2`, dim, hidden);
    norm(`${p}.output_layer_norm`);
  }
  linear("pre_classifier", dim, dim);
  linear("classifier", config.id2label.length, dim);
  return shapes;
}

/** The in-memory shape of a parameter whose disk shape is `diskShape`. */
export function memoryShape(name: string, diskShape: readonly number[]): number[] {
  return isLinearWeight(name) ? [diskShape[1], diskShape[0]] : [...diskShape];
}

/** Converts a tensor from disk layout to memory layout (transposes Linear weights; copies). */
export function toMemoryLayout(
  name: string,
  shape: readonly number[],
  data: Float32Array,
): WeightData {
  if (!isLinearWeight(name)) return { shape: [...shape], data: data.slice() };
  checkMatrix(name, shape, data);
  return { shape: [shape[1], shape[0]], data: transpose2d(data, shape[0], shape[1]) };
}

/** Converts a tensor from memory layout to disk layout (transposes Linear weights; copies). */
export function toDiskLayout(
  name: string,
  shape: readonly number[],
  data: Float32Array,
): WeightData {
  return toMemoryLayout(name, shape, data);
}

function checkMatrix(name: string, shape: readonly number[], data: Float32Array): void {
  if (shape.length !== 2 || shape[0] * shape[1] !== data.length) {
    throw new Error(
      `Tensor "${name}" must be a matrix with ${data.length} values, got shape [${
        shape.join(", ")
      }]`,
    );
  }
}

function transpose2d(data: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(data.length);
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    for (let c = 0; c < cols; c++) out[c * rows + r] = data[base + c];
  }
  return out;
}
