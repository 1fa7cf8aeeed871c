/**
 * The wasm backend's `BatchMatMul` and `_FusedMatMul` kernels on a native BLAS (folder-private):
 * `cblas_sgemm` reads the operands and writes the result inside the wasm heap, with no copy.
 * Transposes are sgemm's flags; batch dimensions broadcast as numpy's do (each output batch entry
 * reads its own entry of each operand — tfjs's own kernels compute only part of a mixed
 * broadcast, `[3,1,m,k]·[1,4,k,n]`, and get a batched fused matmul with bias wrong); a shared
 * right operand folds the batch into one call. `_FusedMatMul` adds a bias of the output's last
 * dimension (sgemm with beta 1 on rows pre-filled with it) and applies linear, relu, relu6,
 * leakyrelu, elu or sigmoid. Every shape is checked in TypeScript before the call (a native
 * fault would kill the process); anything else — other dtypes, other bias shapes, prelu — goes to
 * the original kernel.
 *
 * @module
 */
import type { Blas } from "./blas.ts";
import { tf, tfWasm } from "./tf.ts";

type Kernel = tf.KernelConfig;

const originals = new Map<string, Kernel>();
let active: Blas | null = null;

/** The BLAS the matmul kernels run on, or null (the wasm kernels). */
export function activeBlas(): Blas | null {
  return active;
}

/** A validated matmul: output shape and the per-entry offsets of each operand. */
export interface MatMulPlan {
  readonly outShape: number[];
  readonly m: number;
  readonly n: number;
  readonly k: number;
  /** For each output batch entry: the batch entry of `a` and of `b` it reads. */
  readonly aIndex: Int32Array;
  readonly bIndex: Int32Array;
  /** `b` is one matrix for all entries and `a` untransposed: one sgemm of `batch·m` rows. */
  readonly fold: boolean;
}

const I32_MAX = 2 ** 31 - 1;

/**
 * The plan of `a @ b` (with transposes) for row-major shapes, or null when it is not one this
 * kernel computes (rank < 2, mismatched inner sizes, incompatible batches, sizes beyond int32).
 */
export function planMatMul(
  aShape: readonly number[],
  bShape: readonly number[],
  transposeA: boolean,
  transposeB: boolean,
): MatMulPlan | null {
  if (aShape.length < 2 || bShape.length < 2) return null;
  if (![...aShape, ...bShape].every((d) => Number.isInteger(d) && d >= 0)) return null;
  const [a0, a1] = aShape.slice(-2), [b0, b1] = bShape.slice(-2);
  const m = transposeA ? a1 : a0, k = transposeA ? a0 : a1;
  const kb = transposeB ? b1 : b0, n = transposeB ? b0 : b1;
  if (k !== kb) return null;
  const batchA = aShape.slice(0, -2), batchB = bShape.slice(0, -2);
  const rank = Math.max(batchA.length, batchB.length);
  const padA = [...Array(rank - batchA.length).fill(1), ...batchA];
  const padB = [...Array(rank - batchB.length).fill(1), ...batchB];
  const batch: number[] = [];
  for (let i = 0; i < rank; i++) {
    if (padA[i] !== padB[i] && padA[i] !== 1 && padB[i] !== 1) return null;
    batch.push(padA[i] === 1 ? padB[i] : padA[i]);
  }
  const entries = batch.reduce((x, y) => x * y, 1);
  for (const size of [m * k, k * n, m * n, entries * m * n, entries * m * k, entries * k * n]) {
    if (size > I32_MAX) return null;
  }
  const aIndex = new Int32Array(entries), bIndex = new Int32Array(entries);
  const strides = (shape: number[]) => {
    const s = new Array(shape.length).fill(0);
    let acc = 1;
    for (let i = shape.length - 1; i >= 0; i--) {
      s[i] = shape[i] === 1 ? 0 : acc; // a broadcast dimension does not advance
      acc *= shape[i];
    }
    return s;
  };
  const sa = strides(padA), sb = strides(padB);
  for (let e = 0; e < entries; e++) {
    let rest = e, ia = 0, ib = 0;
    for (let d = rank - 1; d >= 0; d--) {
      const coord = rest % batch[d];
      rest = Math.floor(rest / batch[d]);
      ia += coord * sa[d];
      ib += coord * sb[d];
    }
    aIndex[e] = ia;
    bIndex[e] = ib;
  }
  const bShared = batchB.every((d) => d === 1);
  const aFull = batchA.reduce((x, y) => x * y, 1) === entries;
  return {
    outShape: [...batch, m, n],
    m,
    n,
    k,
    aIndex,
    bIndex,
    fold: bShared && aFull && !transposeA,
  };
}

/** Runs `plan` with sgemm on `a`, `b` into `c` (`beta` 1: `c` holds the bias rows already). */
export function runPlan(
  blas: Blas,
  plan: MatMulPlan,
  transposeA: boolean,
  transposeB: boolean,
  a: Float32Array,
  b: Float32Array,
  c: Float32Array,
  beta: number,
): void {
  const { m, n, k } = plan;
  const lda = transposeA ? m : k, ldb = transposeB ? k : n;
  const entries = plan.aIndex.length;
  if (a.length < Math.max(...plan.aIndex, 0) * m * k + m * k) {
    throw new Error("BatchMatMul: a too small");
  }
  if (b.length < Math.max(...plan.bIndex, 0) * k * n + k * n) {
    throw new Error("BatchMatMul: b too small");
  }
  if (c.length !== entries * m * n) throw new Error("BatchMatMul: output size");
  if (plan.fold) {
    blas.sgemm(false, transposeB, entries * m, n, k, 1, a, lda, b, ldb, beta, c, n);
    return;
  }
  for (let e = 0; e < entries; e++) {
    const ao = plan.aIndex[e] * m * k, bo = plan.bIndex[e] * k * n, co = e * m * n;
    blas.sgemm(
      transposeA,
      transposeB,
      m,
      n,
      k,
      1,
      a.subarray(ao, ao + m * k),
      lda,
      b.subarray(bo, bo + k * n),
      ldb,
      beta,
      c.subarray(co, co + m * n),
      n,
    );
  }
}

const ACTIVATIONS: Record<string, ((x: number, alpha: number) => number) | null> = {
  linear: null,
  relu: (x) => (x > 0 ? x : 0),
  relu6: (x) => Math.min(Math.max(x, 0), 6),
  leakyrelu: (x, alpha) => (x < 0 ? alpha * x : x),
  elu: (x) => (x >= 0 ? x : Math.exp(x) - 1),
  sigmoid: (x) => 1 / (1 + Math.exp(-x)),
};

interface MatMulAttrs {
  transposeA: boolean;
  transposeB: boolean;
  activation?: string;
  leakyreluAlpha?: number;
}

function matMulKernel(fused: boolean): tf.KernelFunc {
  const name = fused ? tf._FusedMatMul : tf.BatchMatMul;
  return (args) => {
    const original = originals.get(name)!;
    const blas = active;
    const backend = args.backend as tfWasm.BackendWasm;
    const { a, b, bias, preluActivationWeights } = args.inputs as Record<string, tf.TensorInfo>;
    const attrs = args.attrs as unknown as MatMulAttrs;
    const ta = attrs.transposeA === true, tb = attrs.transposeB === true;
    const activation = fused ? (attrs.activation ?? "linear") : "linear";
    const plan = planMatMul(a.shape, b.shape, ta, tb);
    const biasOk = bias === undefined ||
      (bias.dtype === "float32" && plan !== null && tf.util.sizeFromShape(bias.shape) === plan.n &&
        bias.shape.length > 0 && bias.shape[bias.shape.length - 1] === plan.n);
    if (
      !blas || plan === null || a.dtype !== "float32" || b.dtype !== "float32" || !biasOk ||
      preluActivationWeights !== undefined || !(activation in ACTIVATIONS)
    ) {
      return original.kernelFunc(args);
    }
    const out = backend.makeOutput(plan.outShape, "float32");
    const size = tf.util.sizeFromShape(plan.outShape);
    if (size === 0) return out;
    // Views after the allocation: malloc may have grown (and detached) the heap.
    const c = backend.typedArrayFromHeap(out) as Float32Array;
    if (bias !== undefined) {
      const row = backend.typedArrayFromHeap(bias) as Float32Array;
      for (let o = 0; o < size; o += plan.n) c.set(row, o);
    }
    if (plan.k === 0) {
      if (bias === undefined) c.fill(0);
    } else {
      const av = backend.typedArrayFromHeap(a) as Float32Array;
      const bv = backend.typedArrayFromHeap(b) as Float32Array;
      runPlan(blas, plan, ta, tb, av, bv, c, bias === undefined ? 0 : 1);
    }
    const f = ACTIVATIONS[activation];
    if (f) {
      const alpha = attrs.leakyreluAlpha ?? 0.2;
      for (let i = 0; i < size; i++) c[i] = f(c[i], alpha);
    }
    return out;
  };
}

/** Routes the wasm matmul kernels through `blas` (or back to the originals with null). */
export function setBlasKernels(blas: Blas | null): void {
  for (const name of [tf.BatchMatMul, tf._FusedMatMul]) {
    if (!originals.has(name)) {
      const config = tf.getKernel(name, "wasm");
      if (!config) continue;
      originals.set(name, { ...config });
      tf.unregisterKernel(name, "wasm");
      tf.registerKernel({ ...config, kernelFunc: matMulKernel(name === tf._FusedMatMul) });
    }
  }
  active = blas;
}
