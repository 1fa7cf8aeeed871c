/**
 * The optimizer step in place on the wasm heap, with our SIMD kernels (backend/simd.ts): the
 * step's gradient accumulators and Adam's two moments live in the wasm heap beside the model's
 * weights; each pass's gradients are added into the accumulators in one SIMD pass (copied on the
 * first), the global norm is a SIMD sum of squares, and one fused AdamW pass reads gradient, m, v
 * and the weight and writes m, v and the new weight straight into the weight tensor's memory —
 * no JS copy of the parameters, no `tf.tensor` upload, no fresh buffers.
 *
 * Used where the kernels load and a native BLAS runs the matmuls (then no kernel keeps a packed
 * or transposed copy of a weight that an in-place write would leave stale); elsewhere the
 * TrainStepper keeps its JS arrays. The arithmetic is train/adamw.ts's, bit for bit.
 *
 * @module
 */
import {
  heapAlloc,
  heapFloats,
  heapFree,
  heapInts,
  heapOffset,
  type SimdKernels,
  tf,
} from "../backend/mod.ts";
import type { DistilBertClassifier } from "../model/mod.ts";
import type { AdamW, AdamWState } from "./adamw.ts";
import { clipScale, type GradClip } from "./grad_clip.ts";

const F32 = 4;

/** One array region of the heap per parameter, in one allocation. */
class HeapArrays {
  readonly base: number;
  readonly offsets = new Map<string, number>();

  constructor(sizes: ReadonlyMap<string, number>) {
    let total = 0;
    for (const [name, n] of sizes) {
      this.offsets.set(name, total);
      total += Math.ceil(n / 4) * 4 * F32; // each region 16-byte aligned
    }
    this.base = heapAlloc(Math.max(total, 16));
  }

  ptr(name: string): number {
    return this.base + this.offsets.get(name)!;
  }
}

/** The heap state of in-place optimizer steps for one model (see module docs). */
export class HeapStep {
  readonly #kernels: SimdKernels;
  readonly #model: DistilBertClassifier;
  readonly #optimizer: AdamW;
  readonly #sizes = new Map<string, number>();
  readonly #grads: HeapArrays;
  readonly #m: HeapArrays;
  readonly #v: HeapArrays;
  /** Parameters whose accumulator has not been written in this step yet. */
  readonly #fresh = new Set<string>();
  #rows = { ptr: 0, capacity: 0 };

  /**
   * Allocates the accumulators and moments for `model`'s parameters and moves `optimizer`'s
   * moments (zero, or a resumed run's) into the heap; the optimizer keeps only its step count.
   */
  constructor(model: DistilBertClassifier, optimizer: AdamW, kernels: SimdKernels) {
    this.#kernels = kernels;
    this.#model = model;
    this.#optimizer = optimizer;
    for (const [name, v] of model.params) this.#sizes.set(name, v.size);
    this.#grads = new HeapArrays(this.#sizes);
    this.#m = new HeapArrays(this.#sizes);
    this.#v = new HeapArrays(this.#sizes);
    const state = optimizer.state();
    for (const [name, n] of this.#sizes) {
      const m = state.m.get(name), v = state.v.get(name);
      const mView = heapFloats(this.#m.ptr(name), n), vView = heapFloats(this.#v.ptr(name), n);
      if (m && v) {
        mView.set(m);
        vView.set(v);
      } else {
        mView.fill(0);
        vView.fill(0);
      }
    }
    optimizer.loadState({ step: state.step, m: new Map(), v: new Map() });
  }

  /** Starts a step: every accumulator is to be written afresh. */
  begin(): void {
    for (const name of this.#sizes.keys()) this.#fresh.add(name);
  }

  /** Adds parameter `name`'s gradient of one pass (a float32 tensor) into its accumulator. */
  add(name: string, grad: tf.Tensor): void {
    const n = this.#sizes.get(name)!;
    const dst = this.#grads.ptr(name), src = heapOffset(grad);
    if (this.#fresh.delete(name)) {
      heapFloats(dst, n).set(heapFloats(src, n));
    } else {
      this.#kernels.add(dst, src, n);
    }
  }

  /** Adds the rows `rows` of parameter `name` (a sparse embedding gradient, `[rows, cols]`). */
  addRows(name: string, rows: Int32Array, values: tf.Tensor): void {
    const n = this.#sizes.get(name)!;
    const dst = this.#grads.ptr(name);
    if (this.#fresh.delete(name)) heapFloats(dst, n).fill(0);
    if (rows.length === 0) return;
    if (this.#rows.capacity < rows.length) {
      if (this.#rows.ptr) heapFree(this.#rows.ptr);
      this.#rows = { ptr: heapAlloc(rows.length * F32), capacity: rows.length };
    }
    heapInts(this.#rows.ptr, rows.length).set(rows);
    const cols = values.size / rows.length;
    this.#kernels.addRows(dst, this.#rows.ptr, rows.length, heapOffset(values), cols);
  }

  /**
   * The accumulated gradients measured as `gradClip` measures them: the global L2 norm (float64
   * sums, rounded once to float32), the clip factor for `maxNorm`, and whether all are finite.
   */
  clip(maxNorm: number): GradClip {
    let sumSquares = 0;
    for (const [name, n] of this.#sizes) {
      sumSquares += this.#kernels.sumSquares(this.#grads.ptr(name), n);
    }
    const totalNorm = Math.fround(Math.sqrt(sumSquares));
    return {
      totalNorm,
      scale: clipScale(totalNorm, maxNorm),
      finite: Number.isFinite(totalNorm),
    };
  }

  /** One AdamW step with the optimizer's constants, writing the new weights in place. */
  apply(options: { lr: number; clipScale: number }): void {
    const constants = this.#optimizer.nextStep(options);
    for (const [name, param] of this.#model.params) {
      this.#kernels.adamw(
        heapOffset(param),
        this.#grads.ptr(name),
        this.#m.ptr(name),
        this.#v.ptr(name),
        this.#sizes.get(name)!,
        constants.of(name),
      );
    }
    this.#optimizer.completeStep();
    this.#model.paramsChanged();
  }

  /** The parameters (memory layout) as heap views: valid until the next tfjs call. */
  params(): Map<string, Float32Array> {
    const out = new Map<string, Float32Array>();
    for (const [name, param] of this.#model.params) {
      out.set(name, heapFloats(heapOffset(param), this.#sizes.get(name)!));
    }
    return out;
  }

  /** The optimizer state with the moments as heap views: valid until the next tfjs call. */
  optimizerState(): AdamWState {
    const m = new Map<string, Float32Array>(), v = new Map<string, Float32Array>();
    const step = this.#optimizer.stepCount;
    if (step > 0) {
      for (const [name, n] of this.#sizes) {
        m.set(name, heapFloats(this.#m.ptr(name), n));
        v.set(name, heapFloats(this.#v.ptr(name), n));
      }
    }
    return { step, m, v };
  }

  /** Frees the heap arrays. */
  dispose(): void {
    for (const a of [this.#grads, this.#m, this.#v]) heapFree(a.base);
    if (this.#rows.ptr) heapFree(this.#rows.ptr);
    this.#rows = { ptr: 0, capacity: 0 };
  }
}
