/**
 * The fixed cost of an optimizer step (folder-private), timed alone at the model's size: adding
 * one pass's gradients into the step's accumulators, the global norm, and AdamW with the new
 * weights written into the model — in the heap mode (our wasm SIMD kernels, in place) and the JS
 * mode (JS arrays, fresh weight tensors), on the same synthetic gradients.
 *
 * @module
 */
import { readFloats, simdKernels, tf } from "../backend/mod.ts";
import type { DistilBertClassifier } from "../model/mod.ts";
import { AdamW, gradClip, HeapStep } from "../train/mod.ts";

/** Median seconds of each part of the fixed cost, for one mode. */
export interface OptimizerCost {
  readonly mode: "heap" | "js";
  /** Adding one pass's gradients into the accumulators (every pass after the first). */
  readonly accumulateSeconds: number;
  /** The global L2 norm of the accumulated gradients. */
  readonly normSeconds: number;
  /** AdamW and the new weights in the model (in place, or as fresh tensors). */
  readonly updateSeconds: number;
  /** The three together: the step's cost besides its forward and backward passes. */
  readonly totalSeconds: number;
}

function median(values: readonly number[]): number {
  const v = [...values].sort((a, b) => a - b);
  return v[Math.floor(v.length / 2)];
}

/**
 * Times the fixed step cost of `model` in each mode that can run here (the heap mode needs the
 * wasm backend and the kernels), `repeats` times after one warm-up, and leaves the model's
 * weights as they were.
 */
export async function optimizerCost(
  model: DistilBertClassifier,
  options: { repeats: number; log: (line: string) => void },
): Promise<OptimizerCost[]> {
  const saved = new Map<string, Float32Array>();
  for (const [name, v] of model.params) saved.set(name, Float32Array.from(await v.data()));
  const grads = new Map<string, tf.Tensor>();
  for (const [name, v] of model.params) {
    grads.set(name, tf.randomNormal(v.shape, 0, 1e-3, "float32", 7));
  }
  const out: OptimizerCost[] = [];
  try {
    const kernels = simdKernels();
    if (kernels) out.push(timeHeap(model, grads, kernels, options));
    out.push(timeJs(model, grads, saved, options));
  } finally {
    tf.dispose([...grads.values()]);
    model.assignParams(saved);
  }
  for (const c of out) {
    options.log(
      `optimizer step (${c.mode}): ${(c.totalSeconds * 1000).toFixed(0)} ms = accumulate ` +
        `${(c.accumulateSeconds * 1000).toFixed(0)} + norm ${(c.normSeconds * 1000).toFixed(0)} ` +
        `+ AdamW and write-back ${(c.updateSeconds * 1000).toFixed(0)} ms`,
    );
  }
  return out;
}

function timeHeap(
  model: DistilBertClassifier,
  grads: ReadonlyMap<string, tf.Tensor>,
  kernels: NonNullable<ReturnType<typeof simdKernels>>,
  options: { repeats: number },
): OptimizerCost {
  const heap = new HeapStep(model, new AdamW({ weightDecay: 0.01 }), kernels);
  const parts = { acc: [] as number[], norm: [] as number[], update: [] as number[] };
  try {
    for (let i = 0; i <= options.repeats; i++) {
      heap.begin();
      for (const [name, g] of grads) heap.add(name, g); // the first pass: a copy
      let t = performance.now();
      for (const [name, g] of grads) heap.add(name, g);
      const acc = performance.now() - t;
      t = performance.now();
      const clip = heap.clip(1);
      const norm = performance.now() - t;
      t = performance.now();
      heap.apply({ lr: 2e-5, clipScale: clip.scale });
      const update = performance.now() - t;
      if (i === 0) continue; // warm-up: the first touch of fresh memory
      parts.acc.push(acc / 1000);
      parts.norm.push(norm / 1000);
      parts.update.push(update / 1000);
    }
  } finally {
    heap.dispose();
  }
  return summary("heap", parts);
}

function timeJs(
  model: DistilBertClassifier,
  grads: ReadonlyMap<string, tf.Tensor>,
  saved: ReadonlyMap<string, Float32Array>,
  options: { repeats: number },
): OptimizerCost {
  const params = new Map([...saved].map(([n, v]) => [n, Float32Array.from(v)]));
  const acc = new Map([...saved].map(([n, v]) => [n, new Float32Array(v.length)]));
  const optimizer = new AdamW({ weightDecay: 0.01 });
  const parts = { acc: [] as number[], norm: [] as number[], update: [] as number[] };
  for (let i = 0; i <= options.repeats; i++) {
    let t = performance.now();
    for (const [name, g] of grads) {
      const a = acc.get(name)!, data = readFloats(g);
      for (let j = 0; j < a.length; j++) a[j] += data[j];
    }
    const accumulate = performance.now() - t;
    t = performance.now();
    const clip = gradClip(acc, { maxNorm: 1 });
    const norm = performance.now() - t;
    t = performance.now();
    optimizer.step(params, acc, { lr: 2e-5, clipScale: clip.scale });
    model.assignParams(params);
    const update = performance.now() - t;
    if (i === 0) continue;
    parts.acc.push(accumulate / 1000);
    parts.norm.push(norm / 1000);
    parts.update.push(update / 1000);
  }
  return summary("js", parts);
}

function summary(
  mode: "heap" | "js",
  parts: { acc: number[]; norm: number[]; update: number[] },
): OptimizerCost {
  const accumulateSeconds = median(parts.acc), normSeconds = median(parts.norm);
  const updateSeconds = median(parts.update);
  return {
    mode,
    accumulateSeconds,
    normSeconds,
    updateSeconds,
    totalSeconds: accumulateSeconds + normSeconds + updateSeconds,
  };
}
