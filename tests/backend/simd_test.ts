/**
 * Our wasm SIMD kernels: the committed binary is what its source builds to with the pinned
 * compiler, and each kernel gives the JS loop's numbers — AdamW bit for bit, weight decay and
 * clip scale included, on the wasm backend's own heap — and the fused GELU and LayerNorm give
 * float64's values within float32 accuracy.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import {
  fusedLayers,
  heapAlloc,
  heapFloats,
  heapFree,
  heapInts,
  initBackend,
  simdKernels,
  tf,
} from "../../backend/mod.ts";
import { createRng } from "../../core/mod.ts";
import { AdamW } from "../../train/mod.ts";
import { buildSimd } from "../../scripts/build_simd.ts";

Deno.test("simd: the committed kernels.wasm is a fresh build of kernels.wat", async () => {
  const committed = await Deno.readFile(
    new URL("../../backend/simd/kernels.wasm", import.meta.url),
  );
  const built = await buildSimd();
  assert.ok(Buffer.from(committed).equals(Buffer.from(built)), "run deno task build:simd");
});

/** `n` random float32 values of scale `s` (a seeded stream). */
function randomArray(n: number, s: number, rng: () => number): Float32Array {
  return Float32Array.from({ length: n }, () => (rng() - 0.5) * s);
}

Deno.test("simd: add, add_rows and sum_squares match the JS loops", async () => {
  await initBackend("wasm");
  const k = simdKernels();
  assert.ok(k, "the kernels load on the wasm backend");
  const rng = createRng(7);
  const n = 1031; // not a multiple of 4: the scalar tail runs too
  const a = randomArray(n, 2, rng), b = randomArray(n, 2, rng);
  const pa = heapAlloc(n * 4), pb = heapAlloc(n * 4);
  try {
    heapFloats(pa, n).set(a);
    heapFloats(pb, n).set(b);
    k.add(pa, pb, n);
    const sum = Float32Array.from(a, (x, i) => x + b[i]);
    assert.deepEqual(heapFloats(pa, n), sum);
    let squares = 0;
    for (const x of sum) squares += x * x;
    const got = k.sumSquares(pa, n);
    assert.ok(Math.abs(got - squares) <= 1e-12 * squares, `${got} vs ${squares}`);
    assert.equal(Math.fround(Math.sqrt(got)), Math.fround(Math.sqrt(squares)));
    // Rows 2, 0, 2 of a [3, 5] table get the rows of a [3, 5] source.
    const cols = 5, rows = Int32Array.from([2, 0, 2]);
    const pr = heapAlloc(rows.length * 4);
    try {
      heapFloats(pa, 15).fill(0);
      heapInts(pr, 3).set(rows);
      heapFloats(pb, 15).set(Float32Array.from({ length: 15 }, (_, i) => i + 1));
      k.addRows(pa, pr, 3, pb, cols);
      assert.deepEqual([...heapFloats(pa, 15)], [
        ...[6, 7, 8, 9, 10],
        ...[0, 0, 0, 0, 0],
        ...[1 + 11, 2 + 12, 3 + 13, 4 + 14, 5 + 15],
      ]);
    } finally {
      heapFree(pr);
    }
  } finally {
    heapFree(pa);
    heapFree(pb);
  }
});

Deno.test("simd: the fused AdamW is bit-identical to the JS AdamW (decay, clip scale, many steps)", async () => {
  await initBackend("wasm");
  const k = simdKernels()!;
  const rng = createRng(11);
  const sizes = new Map([["layer.weight", 1027], ["layer.bias", 33]]); // decayed, not decayed
  const js = new AdamW({ weightDecay: 0.01 });
  const wasm = new AdamW({ weightDecay: 0.01 });
  const params = new Map([...sizes].map(([name, n]) => [name, randomArray(n, 2, rng)]));
  const ptr = new Map<string, { p: number; g: number; m: number; v: number }>();
  for (const [name, n] of sizes) {
    const p = heapAlloc(n * 4), g = heapAlloc(n * 4), m = heapAlloc(n * 4), v = heapAlloc(n * 4);
    heapFloats(p, n).set(params.get(name)!);
    heapFloats(m, n).fill(0);
    heapFloats(v, n).fill(0);
    ptr.set(name, { p, g, m, v });
  }
  try {
    for (let step = 0; step < 6; step++) {
      // Gradients of every scale, clipping on every other step, a learning rate per step.
      const scale = [1e-3, 1, 30, 1e-6, 5, 0.2][step];
      const grads = new Map([...sizes].map(([name, n]) => [name, randomArray(n, scale, rng)]));
      const clipScale = step % 2 === 0 ? Math.fround(0.37 + step / 10) : 1;
      const lr = 1e-3 / (step + 1);
      js.step(params, grads, { lr, clipScale });
      const constants = wasm.nextStep({ lr, clipScale });
      for (const [name, n] of sizes) {
        const at = ptr.get(name)!;
        heapFloats(at.g, n).set(grads.get(name)!);
        k.adamw(at.p, at.g, at.m, at.v, n, constants.of(name));
      }
      wasm.completeStep();
      for (const [name, n] of sizes) {
        const at = ptr.get(name)!;
        const state = js.state();
        for (
          const [what, want, got] of [
            ["p", params.get(name)!, heapFloats(at.p, n)],
            ["m", state.m.get(name)!, heapFloats(at.m, n)],
            ["v", state.v.get(name)!, heapFloats(at.v, n)],
          ] as const
        ) {
          const a = Buffer.from(want.buffer, want.byteOffset, want.byteLength);
          const b = Buffer.from(got.buffer, got.byteOffset, got.byteLength);
          assert.ok(a.equals(b), `step ${step}: ${what} of ${name} differs`);
        }
      }
    }
    assert.equal(wasm.stepCount, js.stepCount);
  } finally {
    for (const at of ptr.values()) for (const p of Object.values(at)) heapFree(p);
  }
});

/** erf in float64: its Maclaurin series for |z| ≤ 3, erfc's continued fraction beyond. */
function erf64(z: number): number {
  const a = Math.abs(z);
  if (a <= 3) {
    let term = z, sum = z;
    for (let n = 1; n < 200 && Math.abs(term) > 1e-20; n++) {
      term *= -z * z / n;
      sum += term / (2 * n + 1);
    }
    return sum * 2 / Math.sqrt(Math.PI);
  }
  let fraction = 0;
  for (let k = 60; k >= 1; k--) fraction = (k / 2) / (a + fraction);
  return Math.sign(z) * (1 - Math.exp(-a * a) / Math.sqrt(Math.PI) / (a + fraction));
}

Deno.test("simd: fused GELU and its gradient are float64's GELU within float32 accuracy", async () => {
  await initBackend("wasm");
  const f = fusedLayers();
  assert.ok(f, "the fused kernels run on the wasm backend");
  const n = 400_003; // -10..10, and a scalar tail
  const xs = Float32Array.from({ length: n }, (_, i) => -10 + 20 * i / (n - 1));
  xs[7] = 0;
  xs[8] = NaN;
  const x = tf.tensor1d(xs);
  const dy = tf.tensor1d(Float32Array.from({ length: n }, (_, i) => 1 + (i % 3)));
  const { y, cdf } = f.gelu(x);
  const dx = f.geluGrad(x, cdf, dy);
  const [yv, cv, dv, dyv] = [y.dataSync(), cdf.dataSync(), dx.dataSync(), dy.dataSync()];
  tf.dispose([x, dy, y, cdf, dx]);
  let worstCdf = 0, worstGrad = 0;
  for (let i = 0; i < n; i++) {
    if (i === 8) continue;
    const v = xs[i], phi = 0.5 * (1 + erf64(v / Math.SQRT2));
    const pdf = Math.exp(-v * v / 2) / Math.sqrt(2 * Math.PI);
    worstCdf = Math.max(worstCdf, Math.abs(cv[i] - phi));
    // y is x·Φ(x) of the stored Φ, rounded once
    assert.equal(yv[i], Math.fround(v * cv[i]), `y at ${v}`);
    worstGrad = Math.max(worstGrad, Math.abs(dv[i] - dyv[i] * (phi + v * pdf)) / dyv[i]);
  }
  // Four float32 ulps of 1 (6e-8 each): the rational erf's error where Φ is far from 0.5.
  assert.ok(worstCdf < 2.5e-7, `Φ off by ${worstCdf}`);
  assert.ok(worstGrad < 4e-7, `GELU' off by ${worstGrad}`);
  assert.equal(yv[7], 0);
  assert.equal(cv[7], 0.5);
  assert.ok(Number.isNaN(yv[8]) && Number.isNaN(dv[8]), "NaN stays NaN (a diverged run is seen)");
  assert.equal(yv[n - 1], 10, "Φ(10) is 1 exactly");
  assert.equal(yv[0], -0, "Φ(-10) is 0 exactly");
});

/** LayerNorm's forward and backward in float64, row by row, as torch defines them. */
function layerNorm64(s: Float32Array, rows: number, d: number, gamma: Float32Array) {
  const y = new Float64Array(rows * d), xhat = new Float64Array(rows * d);
  const rstd = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    const row = s.subarray(r * d, (r + 1) * d);
    const mean = row.reduce((a, b) => a + b, 0) / d;
    const variance = row.reduce((a, b) => a + (b - mean) ** 2, 0) / d;
    rstd[r] = 1 / Math.sqrt(variance + 1e-12);
    for (let j = 0; j < d; j++) {
      xhat[r * d + j] = (row[j] - mean) * rstd[r];
      y[r * d + j] = xhat[r * d + j] * gamma[j];
    }
  }
  return { y, xhat, rstd };
}

Deno.test("simd: fused LayerNorm (with a residual) and its backward match float64", async () => {
  await initBackend("wasm");
  const f = fusedLayers()!;
  const rng = createRng(5);
  const rows = 37, d = 68;
  const [a, b, gamma, beta, dy] = [rows * d, rows * d, d, d, rows * d].map((n) =>
    randomArray(n, 4, rng)
  );
  assert.ok(f.layerNormFits(d) && !f.layerNormFits(70));
  const t = (v: Float32Array, shape: number[]) => tf.tensor(v, shape);
  const [ta, tb, tg, tbeta, tdy] = [
    t(a, [rows, d]),
    t(b, [rows, d]),
    t(gamma, [d]),
    t(beta, [d]),
    t(dy, [rows, d]),
  ] as tf.Tensor2D[];
  const before = tf.memory().numTensors;
  for (const withResidual of [false, true]) {
    const s = withResidual ? Float32Array.from(a, (v, i) => v + b[i]) : a;
    const want = layerNorm64(s, rows, d, gamma);
    const out = f.layerNorm(ta, withResidual ? tb : null, tg, tbeta, 1e-12);
    const [y, xhat, rstd] = [out.y.dataSync(), out.xhat.dataSync(), out.rstd.dataSync()];
    const close = (got: number, ref: number, what: string) =>
      assert.ok(
        Math.abs(got - ref) <= 2e-6 * Math.max(1, Math.abs(ref)),
        `${what}: ${got} vs ${ref}`,
      );
    for (let i = 0; i < rows * d; i++) {
      close(y[i], want.y[i] + beta[i % d], `y[${i}]`);
      close(xhat[i], want.xhat[i], `xhat[${i}]`);
    }
    for (let r = 0; r < rows; r++) close(rstd[r], want.rstd[r], `rstd[${r}]`);
    const [dx, dgamma, dbeta] = f.layerNormGrad(tdy, out.xhat, out.rstd, tg);
    const [gx, gg, gb] = [dx.dataSync(), dgamma.dataSync(), dbeta.dataSync()];
    for (let r = 0; r < rows; r++) {
      let m1 = 0, m2 = 0;
      for (let j = 0; j < d; j++) {
        const g = dy[r * d + j] * gamma[j];
        m1 += g / d;
        m2 += g * want.xhat[r * d + j] / d;
      }
      for (let j = 0; j < d; j++) {
        const i = r * d + j;
        const ref = (dy[i] * gamma[j] - m1 - want.xhat[i] * m2) * want.rstd[r];
        close(gx[i], ref, `dx[${i}]`);
      }
    }
    for (let j = 0; j < d; j++) {
      let sg = 0, sb = 0;
      for (let r = 0; r < rows; r++) {
        sg += dy[r * d + j] * want.xhat[r * d + j];
        sb += dy[r * d + j];
      }
      assert.ok(Math.abs(gg[j] - sg) < 1e-4 && Math.abs(gb[j] - sb) < 1e-4, `dgamma/dbeta ${j}`);
    }
    tf.dispose([out.y, out.xhat, out.rstd, dx, dgamma, dbeta]);
  }
  assert.equal(tf.memory().numTensors, before, "the kernels' outputs are ordinary tensors");
  tf.dispose([ta, tb, tg, tbeta, tdy]);
});
