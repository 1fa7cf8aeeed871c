/**
 * The backend folder's public face: the one tfjs instance (`tf`), backend selection
 * (`--backend auto|tensorflow|wasm|cpu`), the training kernels registered for wasm, and wasm
 * threads.
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
export * from "./selection.ts";
export { DROPOUT_MASK_KERNEL } from "./_wasm_kernels.ts";
export { prepareWasmThreads } from "./wasm_threads.ts";
