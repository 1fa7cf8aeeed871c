/**
 * The one TensorFlow.js namespace of mrpc-tune. Every module imports `tf` from here (through
 * `backend/mod.ts`), never from a tfjs package directly, so that exactly one tfjs-core engine,
 * kernel registry and gradient registry exist in the process.
 *
 * Only what runs is imported: `@tensorflow/tfjs-core` (its CommonJS entry), tfjs-core's gradient
 * functions (`_tfjs_gradients.js`, bundled from tfjs-core by `deno task build:gradients`: the
 * CommonJS entry registers none, and the `@tensorflow/tfjs` umbrella that does would bring
 * layers, the converter, tf.data and WebGL), the cpu backend, and the wasm backend through its
 * CommonJS entry `dist/tf-backend-wasm.node.js` (under Deno its ESM entry loads a second copy of
 * tfjs-core; the CommonJS entry shares ours). That entry reads its `.wasm` binary with
 * `fs.readFileSync` from its own package folder, which Deno (and `deno compile`, which embeds npm
 * packages) serves. The native `tensorflow` backend (tfjs-node) is loaded on demand
 * (selection.ts).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import "./_tfjs_gradients.js";
import "@tensorflow/tfjs-backend-cpu";
// @ts-types="@tensorflow/tfjs-backend-wasm"
import * as tfWasm from "@tensorflow/tfjs-backend-wasm/dist/tf-backend-wasm.node.js";

export { tf, tfWasm };
