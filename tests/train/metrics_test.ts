import assert from "node:assert/strict";
import { accuracyAndF1, isImprovement } from "../../train/mod.ts";

Deno.test("metrics: accuracy and F1 of class 1 as scikit-learn computes them", () => {
  // tp=2 (idx 0,1), fp=1 (idx 2), fn=1 (idx 3), tn=1 (idx 4)
  const m = accuracyAndF1([1, 1, 1, 0, 0], [1, 1, 0, 1, 0]);
  assert.equal(m.accuracy, 3 / 5);
  assert.equal(m.f1, (2 * 2) / (2 * 2 + 1 + 1));
  assert.deepEqual(accuracyAndF1([0, 0], [0, 0]), { accuracy: 1, f1: 0 });
  // MRPC's majority baseline: always "equivalent" on dev (279 / 408).
  const labels = Array.from({ length: 408 }, (_, i) => (i < 279 ? 1 : 0));
  const base = accuracyAndF1(labels.map(() => 1), labels);
  assert.ok(Math.abs(base.accuracy - 0.6838) < 1e-4);
  assert.ok(Math.abs(base.f1 - 0.8122) < 1e-4);
  assert.throws(() => accuracyAndF1([1], [1, 0]), /Cannot score 1 predictions against 2 labels/);
});

Deno.test("metrics: improvement direction per metric", () => {
  assert.ok(isImprovement("accuracy", 0.8, null));
  assert.ok(isImprovement("accuracy", 0.8, 0.7));
  assert.ok(!isImprovement("f1", 0.7, 0.7));
  assert.ok(isImprovement("loss", 0.3, 0.4));
  assert.ok(!isImprovement("loss", 0.5, 0.4));
});
