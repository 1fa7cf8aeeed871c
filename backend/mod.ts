/**
 * The backend folder's public face: the one tfjs instance (`tf`), backend selection
 * (`--backend auto|tensorflow|wasm|cpu`, `--blas auto|off|PATH`), the training kernels
 * registered for wasm, native BLAS matmuls for wasm, reads from the wasm heap, and wasm threads.
 *
 * @example
 * ```ts
 * import { initBackend, tf } from "../backend/mod.ts";
 * const info = await initBackend("auto", { log: console.error });
 * ```
 *
 * @module
 */
export { tf, tfWasm } from "./tf.ts";
export {
  BACKEND_CHOICES,
  type BackendChoice,
  type BackendInfo,
  describeBackend,
  initBackend,
  type InitBackendOptions,
} from "./selection.ts";
export { DROPOUT_MASK_KERNEL } from "./_wasm_kernels.ts";
export { activeBlas } from "./_blas_kernels.ts";
export { type Blas, type BlasLoad, knownAnswerTest, loadBlas, refuseByName } from "./blas.ts";
export { readFloats } from "./heap_read.ts";
export {
  type AdamWConstants,
  heapAlloc,
  heapFloats,
  heapFree,
  heapInts,
  heapOffset,
  type SimdKernels,
  simdKernels,
} from "./simd.ts";
export {
  type FusedLayers,
  fusedLayers,
  type LayerNormOutputs,
  setFusedLayers,
} from "./fused_layers.ts";
export { prepareWasmThreads } from "./wasm_threads.ts";
