import assert from "node:assert/strict";
import { InputError } from "../../core/mod.ts";
import { type BackendChoice, describeBackend, initBackend, tf, tfWasm } from "../../backend/mod.ts";
// Private: the sparse embedding gradient kernel is checked against a scatter-add on its own; the
// model only shows it through whole-model gradients, where an error would be hard to place.
import { embeddingLookup } from "../../model/_ops.ts";

/** Runs `fn` with console.warn/error captured; returns what they printed. */
async function captureConsole(fn: () => Promise<unknown>): Promise<string[]> {
  const printed: string[] = [];
  const { warn, error } = console;
  console.warn = (...a: unknown[]) => printed.push(a.map(String).join(" "));
  console.error = (...a: unknown[]) => printed.push(a.map(String).join(" "));
  try {
    await fn();
  } finally {
    console.warn = warn;
    console.error = error;
  }
  return printed;
}

/** Independent scatter-add: out[ids[i]] += x[i] (rows of `width`), negative ids dropped. */
function referenceScatterAdd(
  x: Float32Array,
  ids: number[],
  rows: number,
  width: number,
): Float64Array {
  const out = new Float64Array(rows * width);
  ids.forEach((id, i) => {
    if (id < 0) return;
    for (let j = 0; j < width; j++) out[id * width + j] += x[i * width + j];
  });
  return out;
}

function assertClose(got: ArrayLike<number>, want: ArrayLike<number>, tol: number, what: string) {
  assert.equal(got.length, want.length, `${what}: length`);
  for (let i = 0; i < want.length; i++) {
    assert.ok(Math.abs(got[i] - want[i]) <= tol, `${what}[${i}]: ${got[i]} vs ${want[i]}`);
  }
}

// Runs first: the process's first "auto" selection performs the native import attempts.
Deno.test("backend: auto falls back cleanly and fast, logging one line", async () => {
  const lines: string[] = [];
  let info: Awaited<ReturnType<typeof initBackend>> | undefined;
  const printed = await captureConsole(async () => {
    info = await initBackend("auto", { log: (line) => lines.push(line) });
  });
  assert.ok(info);
  console.log(`auto selection took ${info.initMs.toFixed(0)} ms: ${lines[0]}`);
  assert.deepEqual(printed, [], "nothing but the summary line is printed");
  assert.equal(lines.length, 1);
  assert.equal(lines[0], describeBackend(info));
  assert.equal(tf.getBackend(), info.name);
  if (info.name === "wasm") {
    assert.equal(info.gpu, false);
    assert.deepEqual(info.fallbackReasons.map((r) => r.split(":")[0]), [
      "@tensorflow/tfjs-node-gpu",
      "@tensorflow/tfjs-node",
    ]);
    // With a native BLAS that passed its checks: "wasm + OpenBLAS 0.3.21 (2 threads)"; then our
    // SIMD kernels, named with what they do.
    assert.match(
      lines[0],
      /^Backend: wasm( \+ [^(]+ \(\d+ threads?\))?( \+ mrpc-tune wasm SIMD kernels \(fused GELU and LayerNorm, dropout masks(, in-place optimizer|; in-place optimizer idle: it needs a native sgemm)\))? \(CPU, 1 thread, @tensorflow\/tfjs-backend-wasm; tried /,
    );
    assert.equal(info.blas !== null, /^Backend: wasm \+ [^(]+ \(\d+ threads?\)/.test(lines[0]));
    assert.equal(info.simd, "mrpc-tune wasm SIMD kernels", "the kernels load on wasm");
    assert.equal(tf.getKernelsForBackend("tensorflow").length, 0, "no half-registered kernels");
  } else {
    assert.equal(info.name, "tensorflow");
  }
  // Re-calling returns the cached selection without logging or importing again.
  const again = await initBackend("auto", { log: (line) => lines.push(line) });
  assert.equal(lines.length, 1);
  assert.equal(again.name, info.name);
});

Deno.test("backend: tensorflow is an InputError when no native binding loads", async () => {
  const auto = await initBackend("auto");
  if (auto.name === "tensorflow") {
    console.log(
      `SKIP the "no native binding" half: ${auto.provider} loaded here, so only check that ` +
        `"tensorflow" selects it`,
    );
    assert.equal((await initBackend("tensorflow")).name, "tensorflow");
    return;
  }
  await assert.rejects(initBackend("tensorflow"), (e: Error) => {
    assert.ok(e instanceof InputError);
    assert.match(e.message, /^Backend "tensorflow" is unavailable \(@tensorflow\/tfjs-node-gpu: /);
    return true;
  });
  await assert.rejects(
    initBackend("metal" as BackendChoice),
    new InputError('Invalid --backend "metal": expected one of auto, tensorflow, wasm, cpu'),
  );
});

Deno.test("backend: switching between wasm and cpu, one engine and registry", async () => {
  const cpu = await initBackend("cpu");
  assert.deepEqual([cpu.name, tf.getBackend(), cpu.gpu], ["cpu", "cpu", false]);
  const wasm = await initBackend("wasm");
  assert.deepEqual([wasm.name, tf.getBackend(), wasm.threads], ["wasm", "wasm", 1]);
  // The wasm package registered into our tfjs-core: same engine, classes, kernel registry.
  assert.ok(tf.backend() instanceof tfWasm.BackendWasm);
  assert.ok(tfWasm.BackendWasm.prototype instanceof tf.KernelBackend);
  assert.equal(tf.engine(), (globalThis as { _tfengine?: unknown })._tfengine);
  assert.ok(tf.getKernel("BatchMatMul", "wasm"));
  assert.deepEqual(Object.keys(tf.engine().registryFactory).sort(), ["cpu", "wasm"]);
  // Gradients are registered in the same registry (tfjs-core alone registers none).
  const g = tf.grad((x: tf.Tensor) => tf.div(x, 4))(tf.tensor1d([1, 2]));
  assert.deepEqual(Array.from(await g.data()), [0.25, 0.25]);
  g.dispose();
});

for (const name of ["wasm", "cpu"] as const) {
  Deno.test(`backend: ${name} UnsortedSegmentSum matches a reference scatter-add`, async () => {
    await initBackend(name);
    const rows = 6;
    const width = 5;
    const ids = [3, 0, 3, 5, 3, 1, 0, -1, 5]; // repeats, the padding row 0, a dropped -1
    const x = Float32Array.from({ length: ids.length * width }, (_, i) => Math.sin(i + 1));
    const want = referenceScatterAdd(x, ids, rows, width);
    const got = tf.tidy(() =>
      tf.unsortedSegmentSum(tf.tensor2d(x, [ids.length, width]), tf.tensor1d(ids, "int32"), rows)
    );
    assert.deepEqual(got.shape, [rows, width]);
    assertClose(await got.data(), want, 1e-6, "segment sum");
    got.dispose();
    // The default gather gradient (which needs this kernel) works too.
    const table = tf.tensor2d(new Float32Array(rows * width).fill(0.5), [rows, width]);
    const validIds = ids.filter((i) => i >= 0);
    const dy = tf.tensor2d(x.slice(0, validIds.length * width), [validIds.length, width]);
    const grad = tf.grad((t: tf.Tensor) =>
      tf.sum(tf.mul(tf.gather(t, tf.tensor1d(validIds, "int32")), dy))
    )(table);
    const wantGather = referenceScatterAdd(dy.dataSync() as Float32Array, validIds, rows, width);
    assertClose(await grad.data(), wantGather, 1e-6, "gather gradient");
    tf.dispose([table, dy, grad]);
  });
}

Deno.test("backend: the embedding lookup gives the [PAD] row no gradient", async () => {
  await initBackend("wasm");
  const rows = 5;
  const width = 3;
  const ids = [2, 0, 2, 4, 0, 1];
  const table = tf.tensor2d(Float32Array.from({ length: rows * width }, (_, i) => i), [
    rows,
    width,
  ]);
  const dyValues = Float32Array.from({ length: ids.length * width }, (_, i) => Math.cos(i));
  const dy = tf.tensor2d(dyValues, [ids.length, width]);
  const idsTensor = tf.tensor1d(ids, "int32");
  const lookup = embeddingLookup(table, idsTensor, 0);
  assert.deepEqual(
    Array.from(await lookup.data()),
    ids.flatMap((i) => [3 * i, 3 * i + 1, 3 * i + 2]),
  );
  const grad = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(embeddingLookup(t, idsTensor, 0), dy)))(
    table,
  );
  const want = referenceScatterAdd(dyValues, ids.map((i) => (i === 0 ? -1 : i)), rows, width);
  assertClose(await grad.data(), want, 1e-6, "embedding gradient");
  assert.deepEqual(Array.from((await grad.data()).slice(0, width)), [0, 0, 0]);
  tf.dispose([table, dy, idsTensor, lookup, grad]);
});

Deno.test("backend: wasm Slice, Unpack and shared-buffer Identity stay correct", async () => {
  await initBackend("wasm");
  const before = tf.memory().numTensors;
  const x = tf.tensor3d(Float32Array.from({ length: 24 }, (_, i) => i), [2, 3, 4]);
  const parts = tf.unstack(x);
  assert.deepEqual(Array.from(await parts[1].data()), Array.from({ length: 12 }, (_, i) => 12 + i));
  const contiguous = tf.slice(x, [1, 1, 0], [1, 2, 4]);
  assert.deepEqual(Array.from(await contiguous.data()), [16, 17, 18, 19, 20, 21, 22, 23]);
  const strided = tf.slice(x, [0, 1, 1], [2, 1, 2]);
  assert.deepEqual(Array.from(await strided.data()), [5, 6, 17, 18]);
  const lastAxis = tf.unstack(x, 2);
  assert.deepEqual(Array.from(await lastAxis[3].data()), [3, 7, 11, 15, 19, 23]);
  const copy = tf.clone(x);
  x.dispose();
  assert.equal((await copy.data())[23], 23, "a clone outlives its source");
  tf.dispose([copy, contiguous, strided, ...parts, ...lastAxis]);
  assert.equal(tf.memory().numTensors, before);
});

Deno.test("backend: a native import attempt leaves the cpu and wasm kernels and the gradients as they were", async () => {
  // In a process of its own (this one made its native attempts already): tfjs-node loads its own
  // tfjs-core and cpu backend through the @tensorflow/tfjs umbrella, into the same global
  // registries, after the cpu backend and the training kernels were registered.
  const mod = new URL("../../backend/mod.ts", import.meta.url).href;
  const code = `import { initBackend, tf } from ${JSON.stringify(mod)};
await initBackend("cpu");
const before = ["cpu", "wasm"].flatMap((b) => tf.getKernelsForBackend(b));
const grads = before.flatMap((k) => tf.getGradient(k.kernelName) ?? []);
const info = await initBackend("auto");
const changed = before.filter((k) => tf.getKernel(k.kernelName, k.backendName) !== k);
const regraded = grads.filter((g) => tf.getGradient(g.kernelName) !== g);
console.log(JSON.stringify({ name: info.name, reasons: info.fallbackReasons, kernels: before.length,
  gradients: grads.length, changed: changed.map((k) => k.backendName + " " + k.kernelName),
  regraded: regraded.map((g) => g.kernelName) }));`;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--config", new URL("../../deno.json", import.meta.url).pathname, code],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  assert.ok(out.success, stderr);
  assert.equal(stderr, "", "nothing printed: no 'already registered' warnings");
  const got = JSON.parse(new TextDecoder().decode(out.stdout));
  assert.ok(got.kernels > 100, `${got.kernels} kernels`);
  assert.ok(got.gradients > 100, `${got.gradients} gradients`);
  assert.deepEqual(got.changed, []);
  assert.deepEqual(got.regraded, []);
  if (got.name === "wasm" && !got.reasons.some((r: string) => /native addon/.test(r))) {
    console.log(`SKIP the umbrella half: the native packages did not load as far (${got.reasons})`);
  }
});
