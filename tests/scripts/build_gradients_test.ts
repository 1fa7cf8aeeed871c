/**
 * backend/_tfjs_gradients.js is what `deno task build:gradients` builds from the pinned tfjs-core,
 * and with it (and no `@tensorflow/tfjs` umbrella) every kernel the model trains through has its
 * gradient registered.
 */
import assert from "node:assert/strict";
import { buildGradients } from "../../scripts/build_gradients.ts";
import { tf } from "../../backend/mod.ts";

Deno.test("build:gradients: the committed bundle is a fresh build of tfjs-core's gradients", async () => {
  const committed = await Deno.readTextFile(
    new URL("../../backend/_tfjs_gradients.js", import.meta.url),
  );
  assert.ok(committed === await buildGradients(), "run deno task build:gradients");
});

Deno.test("build:gradients: the kernels training uses have their gradients registered", () => {
  for (
    const kernel of [
      tf.BatchMatMul,
      tf.Add,
      tf.Sub,
      tf.Multiply,
      tf.RealDiv,
      tf.Reshape,
      tf.Transpose,
      tf.Softmax,
      tf.Sum,
      tf.Mean,
      tf.Square,
      tf.Rsqrt,
      tf.Erf,
      tf.Exp,
      tf.GatherV2,
      tf.Slice,
      tf.Unpack,
      tf.Pack,
      tf.Cast,
      tf.Neg,
    ]
  ) assert.ok(tf.getGradient(kernel) !== undefined, `${kernel} has no gradient`);
});
