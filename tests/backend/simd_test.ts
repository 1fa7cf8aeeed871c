/**
 * Our wasm SIMD kernels: the committed binary is what its source builds to with the pinned
 * compiler, and each kernel gives the JS loop's numbers — AdamW bit for bit, weight decay and
 * clip scale included, on the wasm backend's own heap.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import {
  heapAlloc,
  heapFloats,
  heapFree,
  heapInts,
  initBackend,
  simdKernels,
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
