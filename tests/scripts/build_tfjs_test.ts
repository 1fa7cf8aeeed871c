/**
 * backend/tfjs/ is what `deno task build:tfjs` builds from the pinned tfjs packages, and with it
 * (and no tfjs npm package at run time) every kernel the model trains through has its gradient,
 * both backends are there, and the wasm backend loads its binary from beside the bundle.
 */
import assert from "node:assert/strict";
import { buildTfjs, staleFiles, TFJS_RUNTIME_FILES } from "../../scripts/build_tfjs.ts";
import { tf, tfWasm } from "../../backend/mod.ts";

Deno.test("build:tfjs: the committed backend/tfjs/ is a fresh build of the pinned packages", async () => {
  const built = await buildTfjs();
  assert.deepEqual(await staleFiles(built), [], "run deno task build:tfjs");
  const licences = new TextDecoder().decode(built.get("LICENSES.txt"));
  for (const pkg of ["@tensorflow/tfjs-core", "@tensorflow/tfjs-backend-wasm", "seedrandom"]) {
    assert.match(licences, new RegExp(`^${pkg} \\d+\\.\\d+\\.\\d+ \\(`, "m"), pkg);
  }
  assert.match(licences, /Copyright 2019 David Bau/, "seedrandom's MIT notice");
  for (const file of TFJS_RUNTIME_FILES) assert.ok(built.has(file.split("/").at(-1)!), file);
});

Deno.test("build:tfjs: one tfjs with both backends and the gradients training uses", async () => {
  assert.equal(tf.version_core, "4.22.0");
  assert.equal(tfWasm.version_wasm, "4.22.0");
  assert.ok(tf.findBackendFactory("cpu") !== null, "the cpu backend is registered");
  assert.ok(tf.findBackendFactory("wasm") !== null, "the wasm backend is registered");
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
  // The wasm backend initialises from the binaries beside the bundle, and computes.
  const previous = tf.getBackend();
  assert.ok(await tf.setBackend("wasm"));
  try {
    const x = tf.tensor2d([[1, 2], [3, 4]]);
    const g = tf.grad((a: tf.Tensor) => tf.sum(tf.matMul(a, a)))(x);
    assert.deepEqual([...await g.data()], [7, 11, 9, 13]);
    tf.dispose([x, g]);
  } finally {
    if (previous) await tf.setBackend(previous);
  }
});
