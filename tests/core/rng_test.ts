import assert from "node:assert/strict";
import { createRng, deriveSeed, shuffleInPlace } from "../../core/mod.ts";

Deno.test("rng: deterministic, restorable from its state, uniform-ish", () => {
  const a = createRng(42);
  const b = createRng(42);
  const xs = Array.from({ length: 100 }, () => a());
  assert.deepEqual(xs, Array.from({ length: 100 }, () => b()));
  assert.notDeepEqual(xs, Array.from({ length: 100 }, () => createRng(43)()));
  const saved = a.state();
  const next = Array.from({ length: 10 }, () => a());
  const restored = createRng(0, { state: saved });
  assert.deepEqual(Array.from({ length: 10 }, () => restored()), next);
  const r = createRng(7);
  let sum = 0;
  let sq = 0;
  const n = 20000;
  for (let i = 0; i < n; i++) {
    const x = r();
    assert.ok(x >= 0 && x < 1);
    sum += x;
    const z = r.normal();
    sq += z * z;
  }
  assert.ok(Math.abs(sum / n - 0.5) < 0.01);
  assert.ok(Math.abs(sq / n - 1) < 0.05);
});

Deno.test("rng: derived seeds differ by part; shuffle is a permutation", () => {
  assert.notEqual(deriveSeed(42, 0), deriveSeed(42, 1));
  assert.equal(deriveSeed(42, 3, 5), deriveSeed(42, 3, 5));
  const items = Array.from({ length: 50 }, (_, i) => i);
  const shuffled = shuffleInPlace([...items], createRng(1));
  assert.notDeepEqual(shuffled, items);
  assert.deepEqual([...shuffled].sort((x, y) => x - y), items);
});
