/**
 * DistilBERT's building blocks as tfjs ops with hand-written gradients (folder-private).
 *
 * The custom gradients exist for speed and memory, not semantics: each computes the exact same
 * derivative autograd would, but on XNNPACK (the wasm matmuls without BLAS) `dense` keeps every
 * matmul 2-D and untransposed, its fast path; with a native BLAS (`activeBlas()`) the transposes
 * are sgemm's flags instead, its fast form — one model definition, each path's fastest form. And
 * `layerNorm`/`gelu` save one or two tensors for backward instead of every intermediate; where our
 * wasm SIMD kernels run (`fusedLayers()`), each of their passes is one fused kernel.
 * `embeddingLookup` also zeroes the [PAD] row's gradient as `nn.Embedding(padding_idx)`.
 *
 * @module
 */
import { activeBlas, DROPOUT_MASK_KERNEL, fusedLayers, tf } from "../backend/mod.ts";

/** float32's most negative finite value (`torch.finfo(torch.float32).min`): masked scores. */
export const FLOAT32_MIN = -3.4028234663852886e38;

/** HF DistilBERT's LayerNorm epsilon. */
export const LAYER_NORM_EPS = 1e-12;

type Save = (tensors: tf.Tensor[]) => void;
type GradFunc = Parameters<typeof tf.customGrad>[0];

const denseOp = withGrad<tf.Tensor2D>(
  ((x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D, save: Save) => {
    save([x, w]);
    return {
      value: matMulBias(x, w, b), // [n, out]
      gradFunc: (dy: tf.Tensor2D, [xs, ws]: tf.Tensor[]) => [
        matMulT(dy, ws as tf.Tensor2D, false, true), // [n, in]
        matMulT(xs as tf.Tensor2D, dy, true, false), // [in, out]
        sumRows(dy), // [out]
      ],
    };
  }) as unknown as GradFunc,
);

/** `denseOp` whose input gradient multiplies by a given `wT` (`w` transposed, made once per step). */
function denseOpWithTranspose(wT: tf.Tensor2D): (...inputs: tf.Tensor[]) => tf.Tensor2D {
  return withGrad<tf.Tensor2D>(
    ((x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D, save: Save) => {
      save([x]);
      return {
        value: matMulBias(x, w, b), // [n, out]
        gradFunc: (dy: tf.Tensor2D, [xs]: tf.Tensor[]) => [
          tf.matMul(dy, wT), // [n, in]
          matMulT(xs as tf.Tensor2D, dy, true, false), // [in, out]
          sumRows(dy), // [out]
        ],
      };
    }) as unknown as GradFunc,
  );
}

/**
 * `x @ w + b`: with BLAS one sgemm whose output starts as the bias rows (`tf.fused.matMul`, whose
 * kernel the BLAS path replaces); on XNNPACK a matmul and an add (its fused kernel is slower).
 */
function matMulBias(x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D): tf.Tensor2D {
  if (activeBlas()) return tf.fused.matMul({ a: x, b: w, bias: b }) as tf.Tensor2D;
  return tf.add(tf.matMul(x, w), b);
}

/**
 * `a @ b` with `a` and/or `b` transposed: as sgemm's flags with BLAS, as an explicit transpose
 * and an untransposed matmul on XNNPACK (whose transposed matmuls are 10-100× slower).
 */
function matMulT(a: tf.Tensor2D, b: tf.Tensor2D, ta: boolean, tb: boolean): tf.Tensor2D {
  if (activeBlas()) return tf.matMul(a, b, ta, tb);
  return tf.matMul(ta ? tf.transpose(a) : a, tb ? tf.transpose(b) : b);
}

/**
 * Column sums of `x` `[n, d]` -> `[d]` as a `[1, n] @ [n, d]` matmul: the wasm `Sum` kernel
 * reduces only the last axis, so a reduction over rows transposes the whole tensor first.
 */
function sumRows(x: tf.Tensor): tf.Tensor1D {
  const [n, d] = x.shape;
  return tf.reshape(tf.matMul(tf.ones([1, n]), x as tf.Tensor2D), [d]); // [d]
}

/** `tf.customGrad` with the forward function's loose typing (tfjs types its inputs as `Tensor[]`). */
function withGrad<T extends tf.Tensor>(f: GradFunc): (...inputs: tf.Tensor[]) => T {
  return tf.customGrad(f) as unknown as (...inputs: tf.Tensor[]) => T;
}

/**
 * Linear layer `x @ w + b` with `x` `[n, in]`, `w` in memory layout `[in, out]`, `b` `[out]`.
 * `wT` (`w` transposed, `[out, in]`), when given, is used by the backward pass instead of
 * transposing `w` again: a caller running several micro-batches per optimizer step transposes
 * each weight once per step.
 */
export function dense(x: tf.Tensor2D, w: tf.Tensor, b: tf.Tensor, wT?: tf.Tensor): tf.Tensor2D {
  return wT ? denseOpWithTranspose(wT as tf.Tensor2D)(x, w, b) : denseOp(x, w, b);
}

/**
 * `a @ b` for `[n, m, k] @ [n, k, p]`: one batched sgemm call per entry with BLAS; on XNNPACK as
 * n 2-D untransposed matmuls (its batched matmul is a scalar loop).
 */
function sliceMatMul(a: tf.Tensor3D, b: tf.Tensor3D, ta = false, tb = false): tf.Tensor3D {
  if (activeBlas()) return tf.matMul(a, b, ta, tb);
  if (ta) a = tf.transpose(a, [0, 2, 1]);
  if (tb) b = tf.transpose(b, [0, 2, 1]);
  const as = tf.unstack(a); // n × [m, k]
  const bs = tf.unstack(b); // n × [k, p]
  const products = as.map((ai, i) => tf.matMul(ai as tf.Tensor2D, bs[i] as tf.Tensor2D)); // n × [m, p]
  const out = tf.stack(products) as tf.Tensor3D; // [n, m, p]
  tf.dispose([...as, ...bs, ...products]);
  return out;
}

const batchMatMulOp = withGrad<tf.Tensor3D>(
  ((a: tf.Tensor3D, b: tf.Tensor3D, save: Save) => {
    save([a, b]);
    return {
      value: sliceMatMul(a, b), // [n, m, p]
      gradFunc: (dy: tf.Tensor3D, [as, bs]: tf.Tensor[]) => [
        sliceMatMul(dy, bs as tf.Tensor3D, false, true), // [n, m, k]
        sliceMatMul(as as tf.Tensor3D, dy, true, false), // [n, k, p]
      ],
    };
  }) as unknown as GradFunc,
);

/**
 * Batched `a @ b` over leading axes (`[..., m, k] @ [..., k, p]`), forward and backward as 2-D
 * untransposed matmuls per batch entry: the wasm backend's batched matmul is a scalar loop.
 */
export function batchMatMul(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
  const lead = a.shape.slice(0, -2);
  const n = lead.reduce((x, y) => x * y, 1);
  const [m, k] = a.shape.slice(-2);
  const p = b.shape[b.shape.length - 1];
  const out = batchMatMulOp(tf.reshape(a, [n, m, k]), tf.reshape(b, [n, k, p])); // [n, m, p]
  return tf.reshape(out, [...lead, m, p]);
}

const layerNormOp = withGrad<tf.Tensor2D>(
  ((x: tf.Tensor2D, gamma: tf.Tensor1D, beta: tf.Tensor1D, save: Save) => {
    const mean = tf.mean(x, -1, true); // [n, 1]
    const centered = tf.sub(x, mean); // [n, d]
    const variance = tf.mean(tf.square(centered), -1, true); // [n, 1] (biased, as torch)
    const rstd = tf.rsqrt(tf.add(variance, LAYER_NORM_EPS)); // [n, 1]
    const xhat = tf.mul(centered, rstd); // [n, d]
    save([xhat, rstd, gamma]);
    return {
      value: tf.add(tf.mul(xhat, gamma), beta), // [n, d]
      gradFunc: (dy: tf.Tensor2D, [xh, rs, g]: tf.Tensor[]) => {
        const dxhat = tf.mul(dy, g); // [n, d]
        const meanDxhat = tf.mean(dxhat, -1, true); // [n, 1]
        const meanDxhatXhat = tf.mean(tf.mul(dxhat, xh), -1, true); // [n, 1]
        const dx = tf.mul(tf.sub(tf.sub(dxhat, meanDxhat), tf.mul(xh, meanDxhatXhat)), rs);
        return [dx, sumRows(tf.mul(dy, xh)), sumRows(dy)];
      },
    };
  }) as unknown as GradFunc,
);

/** LayerNorm over the last axis of `x` `[n, d]` (eps 1e-12, biased variance, as torch). */
export function layerNorm(x: tf.Tensor2D, gamma: tf.Tensor, beta: tf.Tensor): tf.Tensor2D {
  const f = fusedLayers();
  if (f?.layerNormFits(x.shape[1])) return fusedLayerNormOp(x, gamma, beta);
  return layerNormOp(x, gamma, beta);
}

/** `layerNorm(x + res, gamma, beta)`: a residual connection and its LayerNorm. */
export function addLayerNorm(
  x: tf.Tensor2D,
  res: tf.Tensor2D,
  gamma: tf.Tensor,
  beta: tf.Tensor,
): tf.Tensor2D {
  const f = fusedLayers();
  if (f?.layerNormFits(x.shape[1])) {
    return fusedAddLayerNormOp(x, res, gamma, beta);
  }
  return layerNormOp(tf.add(x, res), gamma, beta);
}

/**
 * LayerNorm as one fused kernel each way (of `x + res` with `withResidual`: then both inputs get
 * the same gradient). Called only where `fusedLayers()` is not null.
 */
function fusedLayerNorm(withResidual: boolean) {
  return withGrad<tf.Tensor2D>(
    ((...args: unknown[]) => {
      const f = fusedLayers()!;
      const save = args.pop() as Save;
      const [x, res, gamma, beta] = (withResidual ? args : [args[0], null, ...args.slice(1)]) as [
        tf.Tensor2D,
        tf.Tensor2D | null,
        tf.Tensor1D,
        tf.Tensor1D,
      ];
      const { y, xhat, rstd } = f.layerNorm(x, res, gamma, beta, LAYER_NORM_EPS);
      save([xhat, rstd, gamma]);
      return {
        value: y, // [n, d]
        gradFunc: (dy: tf.Tensor2D, [xh, rs, g]: tf.Tensor[]) => {
          const [dx, dgamma, dbeta] = f.layerNormGrad(dy, xh as tf.Tensor2D, rs as tf.Tensor1D, g);
          return withResidual ? [dx, tf.clone(dx), dgamma, dbeta] : [dx, dgamma, dbeta];
        },
      };
    }) as unknown as GradFunc,
  );
}

const fusedLayerNormOp = fusedLayerNorm(false);
const fusedAddLayerNormOp = fusedLayerNorm(true);

const geluOp = withGrad(
  ((x: tf.Tensor, save: Save) => {
    const cdf = tf.mul(tf.add(tf.erf(tf.mul(x, Math.SQRT1_2)), 1), 0.5); // Φ(x)
    save([x, cdf]);
    return {
      value: tf.mul(x, cdf),
      gradFunc: (dy: tf.Tensor, [xs, c]: tf.Tensor[]) => {
        const pdf = tf.mul(tf.exp(tf.mul(tf.square(xs), -0.5)), 1 / Math.sqrt(2 * Math.PI));
        return tf.mul(dy, tf.add(c, tf.mul(xs, pdf)));
      },
    };
  }) as unknown as GradFunc,
);

/** GELU as one fused kernel each way; the forward also writes `Φ(x)` for the backward. */
const fusedGeluOp = withGrad(
  ((x: tf.Tensor, save: Save) => {
    const f = fusedLayers()!;
    const { y, cdf } = f.gelu(x);
    save([x, cdf]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, [xs, c]: tf.Tensor[]) => f.geluGrad(xs, c, dy),
    };
  }) as unknown as GradFunc,
);

/** Exact (erf) GELU, `x · Φ(x)`, as `torch.nn.functional.gelu`. */
export function gelu<T extends tf.Tensor>(x: T): T {
  return (fusedLayers() ? fusedGeluOp(x) : geluOp(x)) as T;
}

/**
 * Rows `ids` of `table` `[vocab, d]` -> `[n, d]`. Its gradient scatter-adds `dy` into the table
 * (`UnsortedSegmentSum`), with rows whose id is `padId` left out: the [PAD] row gets no gradient.
 */
export function embeddingLookup(table: tf.Tensor, ids: tf.Tensor1D, padId: number): tf.Tensor2D {
  const op = withGrad<tf.Tensor2D>(
    ((t: tf.Tensor2D, i: tf.Tensor1D, save: Save) => {
      save([i]);
      return {
        value: tf.gather(t, i), // [n, d]
        gradFunc: (dy: tf.Tensor2D, [is]: tf.Tensor[]) => {
          const keep = tf.cast(tf.expandDims(tf.notEqual(is, padId), 1), "float32"); // [n, 1]
          return [
            tf.unsortedSegmentSum(tf.mul(dy, keep), is as tf.Tensor1D, t.shape[0]), // [vocab, d]
            tf.zerosLike(is),
          ];
        },
      };
    }) as unknown as GradFunc,
  );
  return op(table, ids);
}

/**
 * Inverted dropout (`nn.Dropout` in training mode): zeroes each element with probability `rate`
 * and scales the rest by `1 / (1 - rate)`. Deterministic for a given `seed`; identity when
 * `rate` is 0. On wasm and cpu the mask comes from one seeded kernel (`DROPOUT_MASK_KERNEL`);
 * other backends use `tf.dropout`.
 */
export function dropout<T extends tf.Tensor>(x: T, rate: number, seed: number): T {
  if (!(rate > 0)) return x;
  if (tf.getKernel(DROPOUT_MASK_KERNEL, tf.getBackend()) === undefined) {
    return tf.dropout(x, rate, undefined, seed) as T;
  }
  const attrs = { shape: x.shape, rate, seed };
  const mask = tf.engine().runKernel(DROPOUT_MASK_KERNEL, {}, attrs as never) as tf.Tensor; // x's shape
  return tf.mul(x, mask) as T;
}

/**
 * A 32-bit seed for dropout site `site` of the step seeded with `seed` (distinct sites and steps
 * get unrelated streams).
 */
export function mixSeed(seed: number, site: number): number {
  let h = Math.imul((seed >>> 0) ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(site + 1, 0xc2b2ae35);
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  h ^= h >>> 15;
  h = Math.imul(h, 0x846ca68b);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * Mean cross-entropy of `logits` `[b, labels]` against class ids `labels` (numerically stable
 * log-softmax), as `nn.CrossEntropyLoss()`.
 */
export function crossEntropy(logits: tf.Tensor2D, labels: Int32Array): tf.Scalar {
  return tf.tidy(() => {
    const [batch, numLabels] = logits.shape;
    if (labels.length !== batch) {
      throw new Error(`Expected ${batch} labels, got ${labels.length}`);
    }
    // Built in JS: the wasm OneHot kernel writes int32 bits even when asked for float32.
    const oneHot = new Float32Array(batch * numLabels);
    labels.forEach((label, i) => oneHot[i * numLabels + label] = 1);
    const logProbs = tf.logSoftmax(logits); // [b, labels]
    const target = tf.tensor2d(oneHot, [batch, numLabels]); // [b, labels]
    return tf.neg(tf.mean(tf.sum(tf.mul(logProbs, target), 1)));
  });
}
