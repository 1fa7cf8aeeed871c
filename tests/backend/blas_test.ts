/**
 * The native BLAS path of the wasm backend: the sgemm kernels against a naive float64 reference
 * and tfjs's own wasm kernels on every transpose, batch, broadcast, bias and activation case
 * (including the two tfjs gets wrong), the fallbacks (no library, --blas off, a library that is
 * not BLAS, no --allow-ffi), the backend line, gradients with BLAS on and off, and no leaked
 * tensor. Skipped, saying why, where no BLAS library is installed.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  activeBlas,
  describeBackend,
  initBackend,
  knownAnswerTest,
  loadBlas,
  refuseByName,
  tf,
} from "../../backend/mod.ts";
// Private: which matmuls go to BLAS, and in which layout, is only visible in speed otherwise.
import { planMatMul } from "../../backend/_blas_kernels.ts";
import { needsBlas, REPO_ROOT } from "../_helpers.ts";

const noBlas = needsBlas("BLAS kernels");

/** Deterministic values in [-1, 1). */
function values(n: number, seed: number): Float32Array {
  let x = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    return x / 2 ** 31 - 1;
  });
}

/** The naive float64 reference of a broadcast batched matmul with transposes. */
function reference(
  a: { shape: number[]; data: Float32Array },
  b: { shape: number[]; data: Float32Array },
  ta: boolean,
  tb: boolean,
): { shape: number[]; data: Float64Array } {
  const plan = planMatMul(a.shape, b.shape, ta, tb)!;
  const { m, n, k } = plan;
  const out = new Float64Array(plan.aIndex.length * m * n);
  for (let e = 0; e < plan.aIndex.length; e++) {
    const ao = plan.aIndex[e] * m * k, bo = plan.bIndex[e] * k * n;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let p = 0; p < k; p++) {
          s += a.data[ao + (ta ? p * m + i : i * k + p)] *
            b.data[bo + (tb ? j * k + p : p * n + j)];
        }
        out[e * m * n + i * n + j] = s;
      }
    }
  }
  return { shape: plan.outShape, data: out };
}

function close(got: Float32Array, want: ArrayLike<number>, what: string, tol = 1e-4): void {
  assert.equal(got.length, want.length, `${what}: size`);
  for (let i = 0; i < got.length; i++) {
    assert.ok(
      Math.abs(got[i] - want[i]) <= tol * (1 + Math.abs(want[i])),
      `${what}[${i}]: ${got[i]} vs ${want[i]}`,
    );
  }
}

const CASES: { a: number[]; b: number[]; ta: boolean; tb: boolean; note?: string }[] = [
  { a: [5, 7], b: [7, 3], ta: false, tb: false },
  { a: [7, 5], b: [7, 3], ta: true, tb: false },
  { a: [5, 7], b: [3, 7], ta: false, tb: true },
  { a: [7, 5], b: [3, 7], ta: true, tb: true },
  { a: [4, 5, 7], b: [4, 7, 3], ta: false, tb: false },
  { a: [4, 7, 5], b: [4, 3, 7], ta: true, tb: true },
  { a: [4, 5, 7], b: [1, 7, 3], ta: false, tb: false, note: "shared right operand: folded" },
  { a: [4, 5, 7], b: [7, 3], ta: false, tb: false, note: "rank-2 right operand" },
  { a: [1, 5, 7], b: [4, 7, 3], ta: false, tb: false },
  { a: [2, 3, 5, 7], b: [2, 3, 7, 3], ta: false, tb: false },
  {
    a: [3, 1, 5, 7],
    b: [1, 4, 7, 3],
    ta: false,
    tb: false,
    note: "mixed broadcast: tfjs is wrong",
  },
  { a: [2, 1, 7, 5], b: [4, 3, 7], ta: true, tb: true, note: "mixed broadcast with transposes" },
  { a: [0, 5, 7], b: [1, 7, 3], ta: false, tb: false, note: "empty batch" },
  { a: [5, 0], b: [0, 3], ta: false, tb: false, note: "empty inner dimension" },
];

Deno.test("BLAS plan: shapes, broadcasting, folding, and what it leaves to tfjs", () => {
  const p = planMatMul([3, 1, 5, 7], [1, 4, 7, 2], false, false)!;
  assert.deepEqual(p.outShape, [3, 4, 5, 2]);
  assert.deepEqual([...p.aIndex], [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2]);
  assert.deepEqual([...p.bIndex], [0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3]);
  assert.equal(p.fold, false);
  assert.equal(planMatMul([4, 5, 7], [7, 3], false, false)!.fold, true);
  assert.equal(planMatMul([4, 7, 5], [7, 3], true, false)!.fold, false);
  assert.equal(planMatMul([5, 7], [6, 3], false, false), null, "inner sizes differ");
  assert.equal(planMatMul([2, 5, 7], [3, 7, 3], false, false), null, "batches do not broadcast");
  assert.equal(planMatMul([7], [7, 3], false, false), null, "rank 1");
  assert.equal(planMatMul([70000, 70000], [70000, 2], false, false), null, "beyond int32");
});

Deno.test("BLAS library: refusals and fallbacks say why; --blas off and no FFI keep wasm", async () => {
  assert.match(refuseByName("/usr/lib/libopenblas64_.so.0") ?? "", /ILP64/);
  assert.equal(refuseByName("libopenblas.so.0"), null);
  const missing = loadBlas("/nonexistent/libnothing.so", { timing: false });
  assert.ok(!missing.ok && /\/nonexistent\/libnothing\.so/.test(missing.reason));
  const libc = Deno.build.os === "linux" ? "libc.so.6" : null;
  if (libc) {
    const notBlas = loadBlas(libc, { timing: false });
    assert.ok(!notBlas.ok && /cblas_sgemm/.test(notBlas.reason), !notBlas.ok ? notBlas.reason : "");
    const info = await initBackend("wasm", { blas: libc });
    assert.equal(info.blas, null);
    assert.equal(activeBlas(), null);
    assert.match(describeBackend(info), /no BLAS: libc\.so\.6: .*cblas_sgemm/);
  }
  const off = await initBackend("wasm", { blas: "off" });
  assert.equal(off.blas, null);
  assert.equal(activeBlas(), null);
  assert.doesNotMatch(describeBackend(off), /BLAS/);
  // Without --allow-ffi, `auto` falls back silently.
  const script = join(REPO_ROOT, "tests", "backend", "_backend_line.ts");
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", "--allow-env", script],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const line = new TextDecoder().decode(out.stdout).trim();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  assert.match(
    line,
    /^Backend: wasm( \+ mrpc-tune wasm SIMD kernels \(fused GELU and LayerNorm, dropout masks; in-place optimizer idle: it needs a native sgemm\))? \(CPU/,
  );
  assert.doesNotMatch(line, /BLAS/);
});

Deno.test({
  name: "BLAS kernels: BatchMatMul matches a float64 reference and tfjs's kernel on every case",
  ignore: noBlas,
  fn: async () => {
    for (const [i, c] of CASES.entries()) {
      const sizeA = c.a.reduce((x, y) => x * y, 1), sizeB = c.b.reduce((x, y) => x * y, 1);
      const a = { shape: c.a, data: values(sizeA, 2 * i + 1) };
      const b = { shape: c.b, data: values(sizeB, 2 * i + 2) };
      const want = reference(a, b, c.ta, c.tb);
      const what = `${JSON.stringify(c.a)}${c.ta ? "ᵀ" : ""}·${JSON.stringify(c.b)}${
        c.tb ? "ᵀ" : ""
      }`;
      const run = () =>
        tf.tidy(() =>
          tf.matMul(tf.tensor(a.data, a.shape), tf.tensor(b.data, b.shape), c.ta, c.tb)
        );
      await initBackend("wasm", { blas: "auto" });
      assert.ok(activeBlas(), "BLAS is on");
      const before = tf.memory().numTensors;
      const got = run();
      assert.deepEqual(got.shape, want.shape, what);
      close(got.dataSync() as Float32Array, want.data, `${what} (BLAS)`);
      got.dispose();
      assert.equal(tf.memory().numTensors, before, "no tensor left behind");
      // tfjs's own kernel is wrong on a mixed broadcast, and traps on an empty inner dimension.
      if (c.note?.startsWith("mixed broadcast") || c.note?.startsWith("empty")) continue;
      await initBackend("wasm", { blas: "off" });
      const theirs = run();
      close(theirs.dataSync() as Float32Array, want.data, `${what} (tfjs wasm)`);
      theirs.dispose();
    }
    // Not float32: tfjs's own kernel answers (it supports none).
    await initBackend("wasm", { blas: "auto" });
    assert.throws(
      () =>
        tf.tidy(() =>
          tf.matMul(
            tf.tensor2d([1, 2, 3, 4], [2, 2], "int32"),
            tf.tensor2d([1, 0, 0, 1], [2, 2], "int32"),
          )
        ),
      /non-float32/,
    );
  },
});

Deno.test({
  name: "BLAS kernels: fused matmul with bias and activations, batched, where tfjs is wrong too",
  ignore: noBlas,
  fn: async () => {
    await initBackend("wasm", { blas: "auto" });
    const acts: [string, (x: number) => number][] = [
      ["linear", (x) => x],
      ["relu", (x) => Math.max(x, 0)],
      ["relu6", (x) => Math.min(Math.max(x, 0), 6)],
      ["leakyrelu", (x) => (x < 0 ? 0.1 * x : x)],
      ["elu", (x) => (x >= 0 ? x : Math.exp(x) - 1)],
      ["sigmoid", (x) => 1 / (1 + Math.exp(-x))],
    ];
    for (const [ta, tb] of [[false, false], [true, true]]) {
      for (const [activation, f] of acts) {
        const aShape = ta ? [3, 7, 5] : [3, 5, 7], bShape = tb ? [3, 4, 7] : [3, 7, 4];
        const a = { shape: aShape, data: values(105, 11) },
          b = { shape: bShape, data: values(84, 12) };
        const bias = values(4, 13);
        const want = reference(a, b, ta, tb);
        const expected = want.data.map((v, i) => f(v + bias[i % 4]));
        const got = tf.tidy(() =>
          tf.fused.matMul({
            a: tf.tensor3d(a.data, a.shape as [number, number, number]),
            b: tf.tensor3d(b.data, b.shape as [number, number, number]),
            transposeA: ta,
            transposeB: tb,
            bias: tf.tensor1d(bias),
            activation: activation as "relu",
            leakyreluAlpha: 0.1,
          })
        );
        assert.deepEqual(got.shape, [3, 5, 4]);
        close(got.dataSync() as Float32Array, expected, `fused ${activation} ta=${ta} tb=${tb}`);
        got.dispose();
      }
    }
    // prelu goes to tfjs's kernel (2-D, where it is right).
    const pre = tf.tidy(() =>
      tf.fused.matMul({
        a: tf.tensor2d([1, -2, 3, -4], [2, 2]),
        b: tf.tensor2d([1, 0, 0, 1], [2, 2]),
        activation: "prelu",
        preluActivationWeights: tf.tensor1d([0.5, 0.5]),
      })
    );
    close(pre.dataSync() as Float32Array, [1, -1, 3, -2], "prelu");
    pre.dispose();
  },
});

Deno.test({
  name: "BLAS: known-answer self-test, the backend line, and gradients equal with BLAS on and off",
  ignore: noBlas,
  fn: async () => {
    const load = loadBlas("auto", { timing: false });
    assert.ok(load.ok);
    assert.equal(knownAnswerTest(load.blas), null);
    const info = await initBackend("wasm", { blas: "auto" });
    assert.match(
      describeBackend(info),
      /^Backend: wasm \+ \S+.* \(\d+ threads?\)( \+ mrpc-tune wasm SIMD kernels \(fused GELU and LayerNorm, dropout masks, in-place optimizer\))? \(CPU, 1 thread/,
    );
    // Gradients of sum((x·wᵀ)²) (batched) and sum((aᵀ·b)²) (2-D), through transposed matmuls.
    const grads = () =>
      tf.tidy(() => {
        const x = tf.tensor3d(values(30, 31), [2, 3, 5]),
          w = tf.tensor3d(values(40, 32), [2, 4, 5]);
        const a = tf.tensor2d(values(21, 33), [7, 3]), b = tf.tensor2d(values(14, 34), [7, 2]);
        const f = (xi: tf.Tensor, wi: tf.Tensor) =>
          tf.sum(tf.square(tf.matMul(xi as tf.Tensor3D, wi as tf.Tensor3D, false, true)));
        const g = (ai: tf.Tensor, bi: tf.Tensor) =>
          tf.sum(tf.square(tf.matMul(ai as tf.Tensor2D, bi as tf.Tensor2D, true, false)));
        return [...tf.grads(f)([x, w]), ...tf.grads(g)([a, b])].map((t) =>
          t.dataSync() as Float32Array
        );
      });
    const on = grads();
    await initBackend("wasm", { blas: "off" });
    const off = grads();
    on.forEach((g, i) => close(g, off[i], `gradient ${i}`, 1e-5));
  },
});
