/**
 * Reading a float32 tensor's values without a copy where the backend allows: on wasm the values
 * already sit in the wasm heap, and `dataSync()` would copy them into fresh JS memory (265 MB per
 * DistilBERT-base training pass, notes in docs/perf.md).
 *
 * @module
 */
import { tf, type tfWasm } from "./tf.ts";

/**
 * The float32 values of `t`. On wasm: a view of the wasm heap, valid only until the next tfjs
 * call (any allocation may grow the heap and detach it) — read it at once, never keep it or
 * write to it. On other backends: `dataSync()`.
 */
export function readFloats(t: tf.Tensor): Float32Array {
  if (t.dtype !== "float32") {
    throw new Error(`readFloats: expected a float32 tensor, got ${t.dtype}`);
  }
  if (tf.getBackend() === "wasm") {
    return (tf.backend() as tfWasm.BackendWasm).typedArrayFromHeap(t) as Float32Array;
  }
  return t.dataSync() as Float32Array;
}
