/**
 * One optimizer step: forward + backward over each batch of the step (split into micro-batches
 * that fit memory), gradients summed in float32, the global norm clipped once, then AdamW. On
 * the wasm backend with a native BLAS and our SIMD kernels this all runs in place on the wasm
 * heap (train/heap_step.ts: no copy of the parameters, new weights written into the weight
 * tensors); elsewhere the gradients are summed on the JS side and the new weights written back
 * into fresh tensors. Both give the same numbers. A step whose loss or gradient norm is not
 * finite is skipped with parameters and optimizer state untouched.
 *
 * @module
 */
import { type Batch } from "../data/mod.ts";
import { deriveSeed } from "../core/mod.ts";
import type { AdamW } from "./adamw.ts";
import type { DistilBertClassifier } from "../model/mod.ts";
import { gradClip } from "./grad_clip.ts";
import { splitBatch } from "./micro_batch.ts";
import { activeBlas, readFloats, simdKernels, tf } from "../backend/mod.ts";
import type { AdamWState } from "./adamw.ts";
import { HeapStep } from "./heap_step.ts";

/** What one optimizer step did. */
export interface StepResult {
  /** Mean training loss of the step's examples (each batch's mean, averaged over batches). */
  readonly loss: number;
  /** Global gradient L2 norm before clipping. */
  readonly gradNorm: number;
  /** False when the loss or the norm was not finite and the step was skipped. */
  readonly applied: boolean;
  /** Forward/backward passes run (micro-batches). */
  readonly passes: number;
}

/** Options of {@linkcode TrainStepper}. */
export interface TrainStepperOptions {
  /** `--max_grad_norm`; 0 disables clipping. */
  readonly maxGradNorm: number;
  /** Largest rows per forward/backward pass for a given padded length (memory planning). */
  readonly maxRows: (seqLen: number) => number;
  /** Use the in-place heap step where it can run (default true; false: the JS arrays). */
  readonly inPlace?: boolean;
}

/**
 * Runs optimizer steps for one model and optimizer: in place on the wasm heap where it can
 * (see module docs), otherwise with a float32 master copy of the parameters (memory layout) and
 * reusable gradient accumulators on the JS heap.
 */
export class TrainStepper {
  readonly #model: DistilBertClassifier;
  readonly #optimizer: AdamW;
  readonly #options: TrainStepperOptions;
  readonly #params = new Map<string, Float32Array>();
  readonly #grads = new Map<string, Float32Array>();
  #heap: HeapStep | null = null;

  private constructor(model: DistilBertClassifier, optimizer: AdamW, options: TrainStepperOptions) {
    this.#model = model;
    this.#optimizer = optimizer;
    this.#options = options;
  }

  /** Reads the model's current parameters into the master copy. */
  static async create(
    model: DistilBertClassifier,
    optimizer: AdamW,
    options: TrainStepperOptions,
  ): Promise<TrainStepper> {
    const stepper = new TrainStepper(model, optimizer, options);
    const kernels = options.inPlace === false || !activeBlas() ? null : simdKernels();
    if (kernels) {
      stepper.#heap = new HeapStep(model, optimizer, kernels);
      return stepper;
    }
    for (const [name, v] of model.params) {
      const data = new Float32Array(await v.data() as Float32Array);
      stepper.#params.set(name, data);
      stepper.#grads.set(name, new Float32Array(data.length));
    }
    return stepper;
  }

  /** Where the optimizer step runs: the wasm heap with our SIMD kernels, or JS arrays. */
  get mode(): "heap" | "js" {
    return this.#heap ? "heap" : "js";
  }

  /**
   * The parameters (memory layout), e.g. to check or save them. In the heap mode these are views
   * of the weight tensors: valid until the next tfjs call.
   */
  get params(): ReadonlyMap<string, Float32Array> {
    return this.#heap ? this.#heap.params() : this.#params;
  }

  /**
   * The optimizer's state to checkpoint (step count and moments; in the heap mode, views valid
   * until the next tfjs call).
   */
  optimizerState(): AdamWState {
    return this.#heap ? this.#heap.optimizerState() : this.#optimizer.state();
  }

  /** Frees what the stepper holds outside tensors (the heap mode's arrays). */
  dispose(): void {
    this.#heap?.dispose();
    this.#heap = null;
  }

  /**
   * One optimizer step over `batches` (the step's accumulation group) at learning rate `lr`.
   * Dropout masks derive from `seed` and the micro-batch position, so a step is reproducible.
   */
  step(batches: readonly Batch[], options: { lr: number; seed: number }): StepResult {
    const heap = this.#heap;
    if (heap) heap.begin();
    for (const g of this.#grads.values()) g.fill(0);
    let loss = 0;
    let passes = 0;
    batches.forEach((batch, b) => {
      const micro = splitBatch(batch, this.#options.maxRows(batch.seqLen));
      micro.forEach((m, k) => {
        const weight = m.weight / batches.length;
        const out = this.#model.lossAndGrads(m.batch, {
          training: true,
          seed: deriveSeed(options.seed, b, k),
          lossScale: weight,
          sparseWordGrad: true,
        });
        try {
          loss += weight * out.loss.dataSync()[0];
          if (heap) {
            for (const [name, g] of out.grads) heap.add(name, g);
            for (const [name, { rows, values }] of out.rowGrads) heap.addRows(name, rows, values);
          } else {
            // Heap views (on wasm) are read at once: no tfjs call runs until the loop moves on.
            for (const [name, g] of out.grads) {
              const acc = this.#grads.get(name)!;
              const data = readFloats(g);
              for (let i = 0; i < acc.length; i++) acc[i] += data[i];
            }
            for (const [name, { rows, values }] of out.rowGrads) {
              addRows(this.#grads.get(name)!, rows, readFloats(values));
            }
          }
        } finally {
          tf.dispose([
            out.loss,
            ...out.grads.values(),
            ...[...out.rowGrads.values()].map((r) => r.values),
          ]);
        }
        passes++;
      });
    });
    const maxNorm = this.#options.maxGradNorm;
    const clip = heap ? heap.clip(maxNorm) : gradClip(this.#grads, { maxNorm });
    if (!clip.finite || !Number.isFinite(loss)) {
      return { loss, gradNorm: clip.totalNorm, applied: false, passes };
    }
    if (heap) {
      heap.apply({ lr: options.lr, clipScale: clip.scale });
    } else {
      this.#optimizer.step(this.#params, this.#grads, { lr: options.lr, clipScale: clip.scale });
      this.#model.assignParams(this.#params);
    }
    return { loss, gradNorm: clip.totalNorm, applied: true, passes };
  }
}

/** Adds `values` (`[rows.length, columns]`) into rows `rows` of the row-major matrix `acc`. */
function addRows(acc: Float32Array, rows: Int32Array, values: Float32Array): void {
  const columns = rows.length === 0 ? 0 : values.length / rows.length;
  for (let r = 0; r < rows.length; r++) {
    const dst = rows[r] * columns;
    const src = r * columns;
    for (let j = 0; j < columns; j++) acc[dst + j] += values[src + j];
  }
}

/** Name of the first parameter holding a NaN or ±Infinity, or null when all are finite. */
export function firstNonFinite(params: ReadonlyMap<string, Float32Array>): string | null {
  for (const [name, data] of params) {
    for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i])) return name;
  }
  return null;
}
