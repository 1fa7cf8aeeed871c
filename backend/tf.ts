/**
 * The one TensorFlow.js namespace of mrpc-tune. Every module imports `tf` from here (through
 * `backend/mod.ts`), never from "@tensorflow/tfjs" directly, so that exactly
 * one tfjs-core engine, kernel registry and gradient registry exist in the process.
 *
 * `@tensorflow/tfjs` (not `tfjs-core` alone) is imported because it registers the gradient
 * functions. The wasm backend is imported through its CommonJS entry
 * `dist/tf-backend-wasm.node.js`: under Deno its ESM entry loads a second copy of tfjs-core, and
 * the CommonJS entry shares ours. That entry reads its `.wasm` binary with `fs.readFileSync` from
 * its own package folder, which Deno (and `deno compile`, which embeds npm packages) serves.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
// @ts-types="@tensorflow/tfjs-backend-wasm"
import * as tfWasm from "@tensorflow/tfjs-backend-wasm/dist/tf-backend-wasm.node.js";

export { tf, tfWasm };
