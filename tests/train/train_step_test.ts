import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { type Batch, collate, type EncodedExample } from "../../data/mod.ts";
import { createRng } from "../../core/mod.ts";
import { AdamW, firstNonFinite, TrainStepper } from "../../train/mod.ts";
import { initBackend, tf } from "../../backend/mod.ts";
import { DistilBertClassifier, type DistilBertConfig } from "../../model/mod.ts";
import { assertTensorsClose } from "./_train_helpers.ts";
import { needsBlas, tinyConfig, VOCAB } from "../_helpers.ts";

/** A token id that only the poisoned batches contain. */
const POISON_ID = VOCAB.indexOf("court");
const NO_SPLIT = () => Number.MAX_SAFE_INTEGER;

/** `rows` encoded examples of 3–14 tokens ([CLS] words [SEP] words [SEP]), a function of `seed`. */
function examples(
  rows: number,
  seed: number,
  options: { poison?: boolean } = {},
): EncodedExample[] {
  const rng = createRng(seed);
  const word = () => {
    const id = 5 + Math.floor(rng() * (VOCAB.length - 5));
    return id === POISON_ID ? POISON_ID + 1 : id;
  };
  return Array.from({ length: rows }, (_, i) => {
    const a = Array.from({ length: 1 + Math.floor(rng() * 6) }, word);
    const b = Array.from({ length: 1 + Math.floor(rng() * 5) }, word);
    if (options.poison && i === 1) a[0] = POISON_ID;
    return {
      inputIds: [2, ...a, 3, ...b, 3],
      label: (rng() < 0.5 ? 0 : 1) as 0 | 1,
      truncated: false,
    };
  });
}

function batchOf(rows: number, seed: number, options: { poison?: boolean } = {}): Batch {
  const ex = examples(rows, seed, options);
  return collate(ex, ex.map((_, i) => i), { padId: 0 });
}

/**
 * A random tiny model (no dropout unless `dropout`). With `poison`, the gradients of a batch
 * holding `POISON_ID` overflow (the classifier's become ±Infinity), as a diverging step's do,
 * while every parameter stays finite.
 */
async function tinyModel(
  options: { dropout?: boolean; poison?: boolean; blas?: string } = {},
): Promise<{ config: DistilBertConfig; model: DistilBertClassifier }> {
  await initBackend("wasm", { blas: options.blas });
  const config = tinyConfig(
    options.dropout ? {} : { dropout: 0, attention_dropout: 0, seq_classif_dropout: 0 },
  );
  const random = DistilBertClassifier.random(config, { seed: 13 });
  if (!options.poison) return { config, model: random };
  const lossAndGrads: DistilBertClassifier["lossAndGrads"] = (batch, opts) => {
    const out = random.lossAndGrads(batch, opts);
    if (batch.inputIds.includes(POISON_ID)) {
      const g = out.grads.get("classifier.weight")!;
      out.grads.set("classifier.weight", tf.mul(g, Infinity));
      g.dispose();
    }
    return out;
  };
  const model = new Proxy(random, {
    get(target, prop) {
      if (prop === "lossAndGrads") return lossAndGrads;
      const value = Reflect.get(target, prop);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { config, model };
}

function copyMap(map: ReadonlyMap<string, Float32Array>): Map<string, Float32Array> {
  return new Map([...map].map(([k, v]) => [k, Float32Array.from(v)] as const));
}

/** The bytes of an array's own values (a view of a larger buffer, e.g. the wasm heap, too). */
function bytesOf(a: Float32Array): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

function assertBitEqual(
  actual: ReadonlyMap<string, Float32Array>,
  expected: ReadonlyMap<string, Float32Array>,
  what: string,
): void {
  assert.deepEqual([...actual.keys()], [...expected.keys()], what);
  for (const [name, want] of expected) {
    assert.ok(
      bytesOf(actual.get(name)!).equals(bytesOf(want)),
      `${what}: "${name}" changed`,
    );
  }
}

/** The model's own variables (what the next forward pass uses), memory layout. */
async function modelParams(model: DistilBertClassifier): Promise<Map<string, Float32Array>> {
  const out = new Map<string, Float32Array>();
  for (const [name, v] of model.params) out.set(name, Float32Array.from(await v.data()));
  return out;
}

/** Splits params into k_lin biases (true gradient 0, see the fixtures README) and the rest. */
function withoutKeyBias(params: ReadonlyMap<string, Float32Array>): Map<string, Float32Array> {
  return new Map([...params].filter(([name]) => !name.endsWith("attention.k_lin.bias")));
}

// XNNPACK computes each row alike whatever the batch: equal to float32 rounding. OpenBLAS's
// blocking depends on the row count, so its sums differ in the last bits, which Adam's
// normalisation scales up on parameters whose gradients are near zero.
for (const [blas, tolerance] of [["off", 1e-6], ["auto", 2e-5]] as const) {
  const name = `train step: micro-batches of 3 rows give the same step as the whole batch of 8${
    blas === "auto" ? " (BLAS)" : ""
  }`;
  Deno.test({ name, ignore: blas === "auto" && needsBlas(name) }, async () => {
    const runs = [];
    for (const maxRows of [NO_SPLIT, () => 3]) {
      const { model } = await tinyModel({ blas });
      const optimizer = new AdamW({ weightDecay: 0.01 });
      const stepper = await TrainStepper.create(model, optimizer, { maxGradNorm: 1, maxRows });
      const results = [1, 2].map((s) => stepper.step([batchOf(8, s)], { lr: 1e-3, seed: s }));
      runs.push({ results, params: copyMap(stepper.params), model: await modelParams(model) });
      model.dispose();
    }
    const [whole, split] = runs;
    assert.deepEqual(whole.results.map((r) => r.passes), [1, 1]);
    assert.deepEqual(split.results.map((r) => r.passes), [3, 3], "8 rows as 3 + 3 + 2");
    whole.results.forEach((w, i) => {
      const s = split.results[i];
      assert.ok(w.applied && s.applied);
      assert.ok(Math.abs(w.loss - s.loss) <= 1e-6, `loss ${w.loss} vs ${s.loss}`);
      assert.ok(
        Math.abs(w.gradNorm - s.gradNorm) <= 1e-6 * w.gradNorm,
        `norm ${i}: ${w.gradNorm} vs ${s.gradNorm}`,
      );
    });
    assertTensorsClose(withoutKeyBias(split.params), withoutKeyBias(whole.params), tolerance);
    for (const [name, p] of split.params) {
      if (!name.endsWith("attention.k_lin.bias")) continue;
      const w = whole.params.get(name)!;
      for (let i = 0; i < p.length; i++) assert.ok(Math.abs(p[i] - w[i]) <= 2 * 2e-3, name);
    }
    assertBitEqual(split.model, split.params, "model variables hold the master parameters");
  });
}

Deno.test("train step: an accumulation group of two batches of 4 equals one batch of 8", async () => {
  const ex = examples(8, 21);
  const all = ex.map((_, i) => i);
  const runs = [];
  for (const batches of [[all], [all.slice(0, 4), all.slice(4)]]) {
    const { model } = await tinyModel();
    const stepper = await TrainStepper.create(model, new AdamW({ weightDecay: 0.01 }), {
      maxGradNorm: 1,
      maxRows: NO_SPLIT,
    });
    const result = stepper.step(batches.map((b) => collate(ex, b, { padId: 0 })), {
      lr: 1e-3,
      seed: 1,
    });
    runs.push({ result, params: copyMap(stepper.params) });
    model.dispose();
  }
  assert.ok(Math.abs(runs[0].result.loss - runs[1].result.loss) <= 1e-6);
  assert.equal(runs[1].result.passes, 2);
  assertTensorsClose(withoutKeyBias(runs[1].params), withoutKeyBias(runs[0].params), 1e-6);
});

Deno.test("train step: a batch whose gradients overflow is skipped, parameters and moments untouched", async () => {
  const clean1 = batchOf(6, 31),
    clean2 = batchOf(6, 32),
    poisoned = batchOf(6, 33, { poison: true });
  assert.ok(poisoned.inputIds.includes(POISON_ID) && !clean1.inputIds.includes(POISON_ID));

  // Reference: the same model never shown the poisoned batch.
  const ref = await tinyModel({ poison: true, dropout: true });
  const refOpt = new AdamW({ weightDecay: 0.01 });
  const refStepper = await TrainStepper.create(ref.model, refOpt, {
    maxGradNorm: 1,
    maxRows: NO_SPLIT,
  });
  assert.ok(refStepper.step([clean1], { lr: 1e-3, seed: 1 }).applied);
  assert.ok(refStepper.step([clean2], { lr: 1e-3, seed: 3 }).applied);

  const { model } = await tinyModel({ poison: true, dropout: true });
  const optimizer = new AdamW({ weightDecay: 0.01 });
  const stepper = await TrainStepper.create(model, optimizer, {
    maxGradNorm: 1,
    maxRows: NO_SPLIT,
  });
  assert.ok(stepper.step([clean1], { lr: 1e-3, seed: 1 }).applied);
  const params = copyMap(stepper.params);
  const m = copyMap(stepper.optimizerState().m), v = copyMap(stepper.optimizerState().v);
  for (const maxRows of [NO_SPLIT, () => 4]) {
    const s = await TrainStepper.create(model, new AdamW({ weightDecay: 0.01 }), {
      maxGradNorm: 1,
      maxRows,
    });
    const result = s.step([poisoned], { lr: 1e-3, seed: 2 });
    s.dispose();
    assert.equal(result.applied, false);
    assert.ok(!Number.isFinite(result.loss) || !Number.isFinite(result.gradNorm));
  }
  const skipped = stepper.step([poisoned, clean2], { lr: 1e-3, seed: 2 });
  assert.equal(skipped.applied, false, "a poisoned batch spoils its whole accumulation group");
  assert.equal(optimizer.stepCount, 1);
  assertBitEqual(stepper.params, params, "parameters");
  assertBitEqual(await modelParams(model), params, "model variables");
  assertBitEqual(stepper.optimizerState().m, m, "first moments");
  assertBitEqual(stepper.optimizerState().v, v, "second moments");
  assert.equal(firstNonFinite(stepper.params), null);

  assert.ok(stepper.step([clean2], { lr: 1e-3, seed: 3 }).applied);
  assertBitEqual(stepper.params, refStepper.params, "after the skip, as if never shown");
  model.dispose();
  ref.model.dispose();
});

Deno.test("train step: firstNonFinite names the first parameter holding NaN or ±Infinity", () => {
  const params = new Map([
    ["a", new Float32Array([1, -3e38, 0])],
    ["b", new Float32Array([0, 1])],
    ["c", new Float32Array([Infinity])],
  ]);
  assert.equal(firstNonFinite(params), "c");
  params.get("b")![1] = NaN;
  assert.equal(firstNonFinite(params), "b");
  params.get("a")![0] = -Infinity;
  assert.equal(firstNonFinite(params), "a");
  assert.equal(firstNonFinite(new Map([["x", new Float32Array([3.4e38, -0])]])), null);
});

Deno.test("train step: no tensor leaks across steps (whole, split, accumulated, skipped)", async () => {
  const { model } = await tinyModel({ poison: true, dropout: true });
  const optimizer = new AdamW({ weightDecay: 0.01 });
  let rows = Number.MAX_SAFE_INTEGER;
  const stepper = await TrainStepper.create(model, optimizer, {
    maxGradNorm: 1,
    maxRows: () => rows,
  });
  stepper.step([batchOf(5, 41)], { lr: 1e-3, seed: 1 }); // warm-up
  const before = tf.memory().numTensors;
  stepper.step([batchOf(7, 42)], { lr: 1e-3, seed: 2 });
  rows = 2;
  stepper.step([batchOf(7, 43), batchOf(3, 44)], { lr: 1e-3, seed: 3 });
  assert.equal(
    stepper.step([batchOf(4, 45, { poison: true })], { lr: 1e-3, seed: 4 }).applied,
    false,
  );
  assert.equal(tf.memory().numTensors, before);
  model.dispose();
});

Deno.test("train step: after each step every kernel uses the new weights (no stale XNNPACK packing)", async () => {
  const { config, model } = await tinyModel();
  const stepper = await TrainStepper.create(model, new AdamW({ weightDecay: 0.01 }), {
    maxGradNorm: 1,
    maxRows: NO_SPLIT,
  });
  const batch = batchOf(8, 5);
  const probe = batchOf(4, 9);
  try {
    for (let step = 0; step < 3; step++) {
      // A forward pass packs the current weights into XNNPACK's cache before the update.
      tf.dispose(model.logits(probe, { training: false }));
      stepper.step([batch], { lr: 1e-2, seed: step });
      const fresh = DistilBertClassifier.fromWeights(config, await model.exportWeights());
      try {
        const got = model.logits(probe, { training: false });
        const want = fresh.logits(probe, { training: false });
        assert.deepEqual(
          Array.from(await got.data()),
          Array.from(await want.data()),
          `step ${step}`,
        );
        tf.dispose([got, want]);
      } finally {
        fresh.dispose();
      }
    }
  } finally {
    model.dispose();
  }
});

Deno.test("train step: clipping scales each step by min(1, max_norm / ‖g‖), shown over two steps", async () => {
  // Adam's first update barely depends on the gradient's scale, its second does (through the
  // ratio of the two steps' clip scales): compare two clipped steps with a reference that scales
  // the gradients by hand and feeds them to AdamW unclipped.
  const maxNorm = 1e-4;
  const batches = [batchOf(8, 1), batchOf(8, 2)];
  const { model } = await tinyModel();
  const stepper = await TrainStepper.create(model, new AdamW({ weightDecay: 0.01 }), {
    maxGradNorm: maxNorm,
    maxRows: NO_SPLIT,
  });
  const results = batches.map((b, s) => stepper.step([b], { lr: 1e-3, seed: s }));
  const clipped = copyMap(stepper.params);
  model.dispose();

  const { model: ref } = await tinyModel();
  const params = await modelParams(ref);
  const optimizer = new AdamW({ weightDecay: 0.01 });
  const scales: number[] = [];
  for (const batch of batches) {
    const { loss, grads } = ref.lossAndGrads(batch, { training: false });
    const g = new Map<string, Float32Array>();
    for (const [name, t] of grads) g.set(name, Float32Array.from(await t.data()));
    tf.dispose([loss, ...grads.values()]);
    let sq = 0;
    for (const v of g.values()) for (const x of v) sq += x * x;
    const scale = Math.min(1, maxNorm / (Math.sqrt(sq) + 1e-6));
    scales.push(scale);
    for (const v of g.values()) for (let i = 0; i < v.length; i++) v[i] *= scale;
    optimizer.step(params, g, { lr: 1e-3 });
    ref.assignParams(params);
  }
  ref.dispose();
  assert.ok(scales.every((s) => s < 1), `both steps clip: ${scales}`);
  assert.ok(Math.abs(scales[0] / scales[1] - 1) > 0.5, `different scales: ${scales}`);
  results.forEach((r, i) => assert.ok(r.applied && r.gradNorm > maxNorm, `step ${i + 1}`));
  assertTensorsClose(withoutKeyBias(clipped), withoutKeyBias(params), 2e-6);

  // Without clipping the second step lands far from the clipped one: the comparison can see.
  const { model: free } = await tinyModel();
  const unclipped = await TrainStepper.create(free, new AdamW({ weightDecay: 0.01 }), {
    maxGradNorm: 0,
    maxRows: NO_SPLIT,
  });
  batches.forEach((b, s) => unclipped.step([b], { lr: 1e-3, seed: s }));
  let apart = 0;
  for (const [name, p] of withoutKeyBias(unclipped.params)) {
    const c = clipped.get(name)!;
    for (let i = 0; i < p.length; i++) apart = Math.max(apart, Math.abs(p[i] - c[i]));
  }
  free.dispose();
  assert.ok(apart > 1e-4, `unclipped and clipped runs differ by ${apart}`);
});

Deno.test({
  name: "train step: in place on the wasm heap equals the JS step bit for bit (BLAS, SIMD kernels)",
  ignore: needsBlas("train step: in place on the wasm heap"),
  fn: async () => {
    const runs: { params: Map<string, Float32Array>; m: Map<string, Float32Array> }[] = [];
    for (const inPlace of [false, true]) {
      const { model } = await tinyModel({ dropout: true });
      const optimizer = new AdamW({ weightDecay: 0.01 });
      // Clipping on (max norm 0.5), micro-batches of 3 rows, an accumulation group of two.
      const stepper = await TrainStepper.create(model, optimizer, {
        maxGradNorm: 0.5,
        maxRows: () => 3,
        inPlace,
      });
      assert.equal(stepper.mode, inPlace ? "heap" : "js");
      const before = tf.memory().numTensors;
      for (let step = 0; step < 4; step++) {
        const result = stepper.step([batchOf(8, 40 + step), batchOf(5, 60 + step)], {
          lr: 1e-3,
          seed: step,
        });
        assert.ok(result.applied);
      }
      assert.equal(tf.memory().numTensors, before, "no tensor left behind");
      runs.push({
        params: copyMap(stepper.params),
        m: copyMap(stepper.optimizerState().m),
      });
      // The model's own variables hold what the stepper says.
      assertBitEqual(await modelParams(model), runs.at(-1)!.params, "model variables");
      stepper.dispose();
      model.dispose();
    }
    assertBitEqual(runs[1].params, runs[0].params, "parameters");
    assertBitEqual(runs[1].m, runs[0].m, "first moments");
  },
});
