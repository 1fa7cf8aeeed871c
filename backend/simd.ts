/**
 * mrpc-tune's own wasm SIMD kernels (`backend/simd/kernels.wat`, built into `kernels.wasm`) on the
 * wasm backend's heap: the module imports tfjs-wasm's `WebAssembly.Memory`, so it reads and writes
 * tensors and arrays where they are, by byte offset, with no copy. Used for the optimizer step
 * (gradient accumulation, the global norm, a fused AdamW that writes the new weights straight
 * into the weight tensors), GELU, LayerNorm and dropout's masks. Where the module cannot load (another backend, a runtime without wasm
 * SIMD), {@linkcode simdKernels} is null and callers keep their JS paths.
 *
 * Heap views ({@linkcode heapFloats}) are valid only until the next tfjs call: any allocation may
 * grow the heap and detach them. Offsets stay valid.
 *
 * @module
 */
import { tf, type tfWasm } from "./tf.ts";

/** The float32 constants of one AdamW step (see train/adamw.ts for how they are computed). */
export interface AdamWConstants {
  readonly clipScale: number;
  readonly decayFactor: number;
  readonly oneMinusBeta1: number;
  readonly beta2: number;
  readonly oneMinusBeta2: number;
  readonly negStepSize: number;
  readonly biasCorrection2Sqrt: number;
  readonly eps: number;
}

/** The kernels; every pointer is a byte offset into the wasm backend's heap. */
export interface SimdKernels {
  /** What the backend line names. */
  readonly name: string;
  /** `dst[i] += src[i]` for `i < n`. */
  add(dst: number, src: number, n: number): void;
  /** Row `r` of `src` (`[nRows, cols]`) added into row `rows[r]` of `dst` (int32 row numbers). */
  addRows(dst: number, rows: number, nRows: number, src: number, cols: number): void;
  /** `Σ x[i]²`, each square exact, summed in float64. */
  sumSquares(x: number, n: number): number;
  /** One fused AdamW step over `n` values of `p`, `g`, `m`, `v` (see train/adamw.ts). */
  adamw(p: number, g: number, m: number, v: number, n: number, c: AdamWConstants): void;
  /** `y[i] = x[i]·Φ(x[i])`, exact (erf) GELU, and `cdf[i] = Φ(x[i])`, for `i < n`. */
  gelu(x: number, y: number, cdf: number, n: number): void;
  /** `dx[i] = dy[i]·GELU'(x[i])` for `i < n`, from the forward's `cdf`. */
  geluGrad(x: number, cdf: number, dy: number, dx: number, n: number): void;
  /**
   * LayerNorm over `rows` rows of `d` values (`d` a multiple of 4) of `x`, or of `x + res` where
   * `res` is not 0: writes `y`, `xhat` (`[rows, d]`) and `rstd` (`[rows]`).
   */
  layerNorm(
    x: number,
    res: number,
    gamma: number,
    beta: number,
    out: { y: number; xhat: number; rstd: number },
    rows: number,
    d: number,
    eps: number,
  ): void;
  /**
   * Dropout's multiplier into `n` floats at `out`: Alea from `state` (see
   * backend/_wasm_kernels.ts), `scale` where the float32 draw plus `keep` is at least 1, else 0.
   */
  dropoutMask(
    out: number,
    n: number,
    state: { s0: number; s1: number; s2: number },
    keep: number,
    scale: number,
  ): void;
  /** LayerNorm's backward from `xhat` and `rstd`: writes `dx` (`[rows, d]`), `dgamma`, `dbeta` (`[d]`). */
  layerNormGrad(
    dy: number,
    saved: { xhat: number; rstd: number; gamma: number },
    out: { dx: number; dgamma: number; dbeta: number },
    rows: number,
    d: number,
  ): void;
}

interface Exports {
  add(dst: number, src: number, n: number): void;
  add_rows(dst: number, rows: number, nRows: number, src: number, cols: number): void;
  sum_squares(x: number, n: number): number;
  adamw(
    p: number,
    g: number,
    m: number,
    v: number,
    n: number,
    clip: number,
    decay: number,
    omb1: number,
    b2: number,
    omb2: number,
    negStep: number,
    bc2Sqrt: number,
    eps: number,
  ): void;
  gelu(x: number, y: number, cdf: number, n: number): void;
  dropout_mask(
    out: number,
    n: number,
    s0: number,
    s1: number,
    s2: number,
    keep: number,
    scale: number,
  ): void;
  gelu_grad(x: number, cdf: number, dy: number, dx: number, n: number): void;
  layer_norm(
    x: number,
    res: number,
    gamma: number,
    beta: number,
    y: number,
    xhat: number,
    rstd: number,
    rows: number,
    d: number,
    eps: number,
  ): void;
  layer_norm_grad(
    dy: number,
    xhat: number,
    rstd: number,
    gamma: number,
    dx: number,
    dgamma: number,
    dbeta: number,
    rows: number,
    d: number,
  ): void;
}

/** The emscripten module of the wasm backend (the parts used here). */
interface WasmModule {
  asm: { memory: WebAssembly.Memory };
  _malloc(bytes: number): number;
  _free(ptr: number): void;
  HEAPU8: Uint8Array;
}

const loaded = new WeakMap<object, SimdKernels | null>();

function wasmBackend(): tfWasm.BackendWasm | null {
  return tf.getBackend() === "wasm" ? tf.backend() as tfWasm.BackendWasm : null;
}

function wasmModule(): WasmModule {
  const backend = wasmBackend();
  if (!backend) throw new Error("The wasm SIMD kernels need the wasm backend");
  return backend.wasm as unknown as WasmModule;
}

/**
 * The kernels on the active backend's heap, or null when the backend is not wasm or the module
 * cannot be instantiated (no wasm SIMD). Instantiated once per backend.
 */
export function simdKernels(): SimdKernels | null {
  const backend = wasmBackend();
  if (!backend) return null;
  if (loaded.has(backend)) return loaded.get(backend)!;
  let kernels: SimdKernels | null = null;
  try {
    const bytes = Deno.readFileSync(new URL("./simd/kernels.wasm", import.meta.url));
    const memory = (backend.wasm as unknown as WasmModule).asm.memory;
    const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), {
      env: { memory },
    });
    const e = instance.exports as unknown as Exports;
    kernels = {
      name: "mrpc-tune wasm SIMD kernels",
      add: (dst, src, n) => e.add(dst, src, n),
      addRows: (dst, rows, nRows, src, cols) => e.add_rows(dst, rows, nRows, src, cols),
      sumSquares: (x, n) => e.sum_squares(x, n),
      adamw: (p, g, m, v, n, c) =>
        e.adamw(
          p,
          g,
          m,
          v,
          n,
          c.clipScale,
          c.decayFactor,
          c.oneMinusBeta1,
          c.beta2,
          c.oneMinusBeta2,
          c.negStepSize,
          c.biasCorrection2Sqrt,
          c.eps,
        ),
      gelu: (x, y, cdf, n) => e.gelu(x, y, cdf, n),
      geluGrad: (x, cdf, dy, dx, n) => e.gelu_grad(x, cdf, dy, dx, n),
      dropoutMask: (out, n, st, keep, scale) =>
        e.dropout_mask(out, n, st.s0, st.s1, st.s2, keep, scale),
      layerNorm: (x, res, gamma, beta, out, rows, d, eps) =>
        e.layer_norm(x, res, gamma, beta, out.y, out.xhat, out.rstd, rows, d, eps),
      layerNormGrad: (dy, saved, out, rows, d) =>
        e.layer_norm_grad(
          dy,
          saved.xhat,
          saved.rstd,
          saved.gamma,
          out.dx,
          out.dgamma,
          out.dbeta,
          rows,
          d,
        ),
    };
  } catch {
    kernels = null; // no wasm SIMD here, or no kernels.wasm: the callers' JS paths
  }
  loaded.set(backend, kernels);
  return kernels;
}

/** The byte offset of a float32 tensor's values (a tensor, or a kernel's TensorInfo) in the wasm heap. */
export function heapOffset(t: Pick<tf.TensorInfo, "dataId">): number {
  const backend = wasmBackend();
  if (!backend) throw new Error("heapOffset needs the wasm backend");
  const data = (backend as unknown as {
    dataIdMap: { get(id: object): { memoryOffset: number } | undefined };
  }).dataIdMap.get(t.dataId);
  if (!data) throw new Error("heapOffset: the tensor has no data on the wasm backend");
  return data.memoryOffset;
}

/** Allocates `bytes` in the wasm heap (16-byte aligned); free it with {@linkcode heapFree}. */
export function heapAlloc(bytes: number): number {
  const ptr = wasmModule()._malloc(bytes);
  if (ptr === 0) throw new RangeError(`The wasm heap cannot hold ${bytes} more bytes`);
  return ptr;
}

/** Frees what {@linkcode heapAlloc} allocated. */
export function heapFree(ptr: number): void {
  wasmModule()._free(ptr);
}

/** A float32 view of `n` values at `ptr`; valid until the next tfjs call (see module docs). */
export function heapFloats(ptr: number, n: number): Float32Array {
  return new Float32Array(wasmModule().HEAPU8.buffer, ptr, n);
}

/** An int32 view of `n` values at `ptr`; valid until the next tfjs call. */
export function heapInts(ptr: number, n: number): Int32Array {
  return new Int32Array(wasmModule().HEAPU8.buffer, ptr, n);
}
