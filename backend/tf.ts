/**
 * The one TensorFlow.js namespace of mrpc-tune. Every module imports `tf` from here (through
 * `backend/mod.ts`), never from a tfjs package directly, so that exactly one tfjs-core engine,
 * kernel registry and gradient registry exist in the process.
 *
 * tfjs is the program's own files (`backend/tfjs/`, built from the pinned packages by `deno task
 * build:tfjs`): one module with `@tensorflow/tfjs-core`, its gradient functions, the cpu backend
 * and the wasm backend, beside the wasm backend's binaries, which it reads from its own folder (a
 * `deno compile --include` each). So the program, and `deno compile`'s npm snapshot, hold no tfjs
 * package (tfjs-core's npm folder alone is 35 MiB); the types still come from the pinned packages.
 * The native `tensorflow` backend (tfjs-node) is loaded on demand (selection.ts).
 *
 * @module
 */
// @ts-types="./tfjs/tfjs.d.ts"
import { tf, tfWasm, wasmWorkerContents } from "./tfjs/tfjs.js";

export { tf, tfWasm, wasmWorkerContents };
