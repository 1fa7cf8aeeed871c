import assert from "node:assert/strict";
import { join } from "node:path";
import { collate, type EncodedExample } from "../../data/mod.ts";
import { createRng, InputError } from "../../core/mod.ts";
import { initBackend, tf } from "../../backend/mod.ts";
import {
  argmax,
  DistilBertClassifier,
  HEAD_PARAM_NAMES,
  loadFineTuned,
  predict,
  savePretrained,
  softmax,
} from "../../model/mod.ts";
import { tinyConfig, withTempDir } from "../_helpers.ts";

const TINY = tinyConfig({ vocab_size: 40, max_position_embeddings: 32, dim: 8, hidden_dim: 16 });

/** `n` examples `[CLS] ... [SEP] ... [SEP]` of varied lengths (3..20 tokens), labelled 0/1. */
function randomExamples(n: number, seed: number): EncodedExample[] {
  const rng = createRng(seed);
  return Array.from({ length: n }, (_, i) => {
    const len = 3 + Math.floor(rng() * 18);
    const ids = Array.from({ length: len }, () => 5 + Math.floor(rng() * 35));
    ids[0] = 2;
    ids[len - 1] = 3;
    return { inputIds: ids, label: (i % 2) as 0 | 1, truncated: false };
  });
}

async function withModel(fn: (model: DistilBertClassifier) => Promise<void>): Promise<void> {
  await initBackend("wasm");
  const model = DistilBertClassifier.random(TINY, { seed: 7 });
  try {
    await fn(model);
  } finally {
    model.dispose();
  }
}

Deno.test("predict: results are in input order and equal one-example forward passes", async () => {
  await withModel(async (model) => {
    const examples = randomExamples(11, 1);
    const predictions = await predict(model, examples, { batchSize: 4, padId: 0 });
    assert.equal(predictions.length, 11);
    for (const [i, p] of predictions.entries()) {
      assert.equal(p.index, i);
      const single = model.logits(collate(examples, [i], { padId: 0 }), { training: false });
      const expected = Array.from(await single.data());
      single.dispose();
      assert.equal(p.logits.length, 2);
      p.logits.forEach((l, c) => assert.ok(Math.abs(l - expected[c]) < 1e-5, `row ${i}`));
      assert.equal(p.label, argmax(p.logits));
      assert.deepEqual(p.probabilities, softmax(p.logits));
    }
    // Different inputs give different logits: a row mix-up would not go unnoticed.
    assert.equal(new Set(predictions.map((p) => p.logits[0])).size, 11);
  });
});

Deno.test("predict: evaluation mode ignores dropout and the batch size", async () => {
  await withModel(async (model) => {
    const examples = randomExamples(9, 2);
    const a = await predict(model, examples, { batchSize: 9, padId: 0 });
    const b = await predict(model, examples, { batchSize: 2, padId: 0 });
    for (let i = 0; i < 9; i++) {
      a[i].logits.forEach((l, c) => assert.ok(Math.abs(l - b[i].logits[c]) < 1e-5, `row ${i}`));
    }
    // The config's dropout (0.1) is real: a training-mode pass gives other logits.
    const batch = collate(examples, [0], { padId: 0 });
    const trained = model.logits(batch, { training: true, seed: 1 });
    const dropped = Array.from(await trained.data());
    trained.dispose();
    assert.ok(Math.abs(dropped[0] - a[0].logits[0]) > 1e-6, "dropout changes training logits");
  });
});

Deno.test("predict: a pass leaves no tensor behind (after warm-up)", async () => {
  await withModel(async (model) => {
    const examples = randomExamples(10, 3);
    await predict(model, examples, { batchSize: 3, padId: 0 });
    const before = tf.memory().numTensors;
    await predict(model, examples, { batchSize: 3, padId: 0 });
    assert.equal(tf.memory().numTensors, before);
  });
});

Deno.test("predict: softmax is stable and argmax takes the first maximum", () => {
  const p = softmax([0, Math.log(3)]);
  assert.ok(Math.abs(p[0] - 0.25) < 1e-15 && Math.abs(p[1] - 0.75) < 1e-15);
  assert.deepEqual(softmax([1000, 1000]), [0.5, 0.5]);
  assert.deepEqual(softmax([-1000, 0]).map((x) => x === 0 || x === 1), [true, true]);
  assert.equal(argmax([0.5, 0.5]), 0);
  assert.equal(argmax([-2, -1]), 1);
  assert.equal(argmax([]), -1);
});

Deno.test("predict: loadFineTuned refuses a checkpoint without a classification head", async () => {
  await withTempDir(async (dir) => {
    await initBackend("wasm");
    const model = DistilBertClassifier.random(TINY, { seed: 1 });
    const weights = await model.exportWeights();
    model.dispose();
    const full = join(dir, "full");
    await Deno.mkdir(full);
    await savePretrained(full, { config: TINY, weights });
    const loaded = await loadFineTuned(full);
    assert.equal(loaded.headInitialised, false);
    assert.deepEqual(loaded.weights.get("classifier.bias"), weights.get("classifier.bias"));

    for (const name of HEAD_PARAM_NAMES) weights.delete(name);
    const headless = join(dir, "headless");
    await Deno.mkdir(headless);
    await savePretrained(headless, { config: TINY, weights });
    await assert.rejects(() => loadFineTuned(headless), {
      name: InputError.name,
      message: `Cannot predict with model "${headless}": it has no classification head ` +
        `("pre_classifier", "classifier"); fine-tune it first`,
    });
  });
});
