/**
 * Fused layer kernels on the wasm backend: GELU and LayerNorm (optionally after a residual add),
 * forward and backward, each one pass of our wasm SIMD kernels (`backend/simd.ts`) over the
 * tensors in the wasm heap, where tfjs runs five to ten elementwise kernels. Registered as tfjs
 * kernels (`MrpcTune*`), so they run inside `tf.tidy`, `tf.customGrad` and the memory accounting
 * like any other kernel; the model's ops (`model/_ops.ts`) give them their gradients.
 *
 * {@linkcode fusedLayers} is null where the kernels cannot run (another backend, no wasm SIMD) or
 * where they are switched off ({@linkcode setFusedLayers}, the bench's A/B switch): callers keep
 * their tfjs ops there.
 *
 * @module
 */
import { heapOffset, simdKernels } from "./simd.ts";
import { tf, type tfWasm } from "./tf.ts";

const GELU = "MrpcTuneGelu";
const GELU_GRAD = "MrpcTuneGeluGrad";
const LAYER_NORM = "MrpcTuneLayerNorm";
const LAYER_NORM_GRAD = "MrpcTuneLayerNormGrad";

/** LayerNorm's forward outputs: what the backward needs besides `gamma`. */
export interface LayerNormOutputs {
  /** The normalized, scaled and shifted rows, `[n, d]`. */
  readonly y: tf.Tensor2D;
  /** The normalized rows, `[n, d]`. */
  readonly xhat: tf.Tensor2D;
  /** `1 / sqrt(variance + eps)` per row, `[n]`. */
  readonly rstd: tf.Tensor1D;
}

/** The fused kernels, called like tfjs ops (float32 tensors). */
export interface FusedLayers {
  /** Exact (erf) GELU, `x · Φ(x)`, and `Φ(x)` (which the backward reads). */
  gelu(x: tf.Tensor): { y: tf.Tensor; cdf: tf.Tensor };
  /** `dy · GELU'(x)`, with the forward's `cdf`. */
  geluGrad(x: tf.Tensor, cdf: tf.Tensor, dy: tf.Tensor): tf.Tensor;
  /**
   * Whether {@linkcode FusedLayers.layerNorm} takes rows of `d` values (a multiple of 4; other
   * widths keep the tfjs ops).
   */
  layerNormFits(d: number): boolean;
  /** LayerNorm over the last axis of `x` (`+ res` first, when given), biased variance. */
  layerNorm(
    x: tf.Tensor2D,
    res: tf.Tensor2D | null,
    gamma: tf.Tensor,
    beta: tf.Tensor,
    eps: number,
  ): LayerNormOutputs;
  /** LayerNorm's gradients `[dx, dgamma, dbeta]` from the forward's `xhat` and `rstd`. */
  layerNormGrad(
    dy: tf.Tensor2D,
    xhat: tf.Tensor2D,
    rstd: tf.Tensor1D,
    gamma: tf.Tensor,
  ): [tf.Tensor2D, tf.Tensor1D, tf.Tensor1D];
}

let enabled = true;
let registered = false;

/** Switches the fused kernels on (the default) or off, process-wide: the bench's A/B lever. */
export function setFusedLayers(on: boolean): void {
  enabled = on;
}

/** The fused kernels, or null where they cannot run or are switched off (see module docs). */
export function fusedLayers(): FusedLayers | null {
  if (!enabled || tf.getBackend() !== "wasm" || simdKernels() === null) return null;
  register();
  return FUSED;
}

const run = (name: string, inputs: Record<string, tf.Tensor>, attrs = {}) =>
  tf.engine().runKernel(name, inputs as tf.NamedTensorMap, attrs);

const FUSED: FusedLayers = {
  gelu: (x) => {
    const [y, cdf] = run(GELU, { x }) as tf.Tensor[];
    return { y, cdf };
  },
  geluGrad: (x, cdf, dy) => run(GELU_GRAD, { x, cdf, dy }) as tf.Tensor,
  layerNormFits: (d) => d % 4 === 0,
  layerNorm: (x, res, gamma, beta, eps) => {
    const inputs: Record<string, tf.Tensor> = res ? { x, res, gamma, beta } : { x, gamma, beta };
    const [y, xhat, rstd] = run(LAYER_NORM, inputs, { eps }) as tf.Tensor[];
    return { y: y as tf.Tensor2D, xhat: xhat as tf.Tensor2D, rstd: rstd as tf.Tensor1D };
  },
  layerNormGrad: (dy, xhat, rstd, gamma) =>
    run(LAYER_NORM_GRAD, { dy, xhat, rstd, gamma }) as [tf.Tensor2D, tf.Tensor1D, tf.Tensor1D],
};

type Inputs = Record<string, tf.TensorInfo>;

function register(): void {
  if (registered) return;
  registered = true;
  const kernel = (
    kernelName: string,
    f: (inputs: Inputs, b: tfWasm.BackendWasm, attrs: never) => tf.TensorInfo | tf.TensorInfo[],
  ) =>
    tf.registerKernel({
      kernelName,
      backendName: "wasm",
      kernelFunc: (args) =>
        f(args.inputs as Inputs, args.backend as tfWasm.BackendWasm, args.attrs as never),
    });
  kernel(GELU, ({ x }, backend) => {
    const y = backend.makeOutput(x.shape, "float32");
    const cdf = backend.makeOutput(x.shape, "float32");
    simdKernels()!.gelu(heapOffset(x), heapOffset(y), heapOffset(cdf), sizeOf(x));
    return [y, cdf];
  });
  kernel(GELU_GRAD, ({ x, cdf, dy }, backend) => {
    const dx = backend.makeOutput(x.shape, "float32");
    const k = simdKernels()!;
    k.geluGrad(heapOffset(x), heapOffset(cdf), heapOffset(dy), heapOffset(dx), sizeOf(x));
    return dx;
  });
  kernel(LAYER_NORM, ({ x, res, gamma, beta }, backend, { eps }: { eps: number }) => {
    const [rows, d] = x.shape;
    // Allocate every output before taking offsets' values into use (malloc may grow the heap;
    // offsets stay valid, views would not).
    const y = backend.makeOutput(x.shape, "float32");
    const xhat = backend.makeOutput(x.shape, "float32");
    const rstd = backend.makeOutput([rows], "float32");
    simdKernels()!.layerNorm(
      heapOffset(x),
      res ? heapOffset(res) : 0,
      heapOffset(gamma),
      heapOffset(beta),
      { y: heapOffset(y), xhat: heapOffset(xhat), rstd: heapOffset(rstd) },
      rows,
      d,
      eps,
    );
    return [y, xhat, rstd];
  });
  kernel(LAYER_NORM_GRAD, ({ dy, xhat, rstd, gamma }, backend) => {
    const [rows, d] = dy.shape;
    const dx = backend.makeOutput(dy.shape, "float32");
    const dgamma = backend.makeOutput([d], "float32");
    const dbeta = backend.makeOutput([d], "float32");
    simdKernels()!.layerNormGrad(
      heapOffset(dy),
      { xhat: heapOffset(xhat), rstd: heapOffset(rstd), gamma: heapOffset(gamma) },
      { dx: heapOffset(dx), dgamma: heapOffset(dgamma), dbeta: heapOffset(dbeta) },
      rows,
      d,
    );
    return [dx, dgamma, dbeta];
  });
}

function sizeOf(t: tf.TensorInfo): number {
  return t.shape.reduce((a, b) => a * b, 1);
}
