import assert from "node:assert/strict";
import { type Batch } from "../../data/mod.ts";
import { InputError } from "../../core/mod.ts";
import { activeBlas, initBackend, tf } from "../../backend/mod.ts";
import {
  DistilBertClassifier,
  type DistilBertConfig,
  distilBertConfigJson,
  distilBertParamShapes,
  HEAD_PARAM_NAMES,
  initHeadWeights,
  parseDistilBertConfig,
  toDiskLayout,
  toMemoryLayout,
  type WeightData,
} from "../../model/mod.ts";
import { readSafetensorsFile } from "../../io/mod.ts";
import { needsBlas, needsShared, sharedPath, tinyConfig } from "../_helpers.ts";

interface Fixture {
  config: DistilBertConfig;
  model: DistilBertClassifier;
  batch: Batch;
  expected: { logits: number[][]; loss?: number; grad_norm?: number };
}

/** Loads a fixture: model, and one batch of all pairs padded to the longest (labels = Quality). */
async function loadFixture(name: string): Promise<Fixture> {
  const dir = sharedPath("fixtures", name);
  const configPath = `${dir}/model/config.json`;
  const config = parseDistilBertConfig(JSON.parse(await Deno.readTextFile(configPath)), configPath);
  const weightsPath = `${dir}/model/model.safetensors`;
  const { tensors } = await readSafetensorsFile(weightsPath);
  const model = DistilBertClassifier.fromWeights(config, tensors, { source: weightsPath });
  const expected = JSON.parse(await Deno.readTextFile(`${dir}/expected.json`));
  const rows: number[][] = expected.input_ids;
  const seqLen = Math.max(...rows.map((r) => r.length));
  const inputIds = new Int32Array(rows.length * seqLen).fill(config.pad_token_id);
  const attentionMask = new Int32Array(rows.length * seqLen);
  rows.forEach((row, i) =>
    row.forEach((id, j) => {
      inputIds[i * seqLen + j] = id;
      attentionMask[i * seqLen + j] = 1;
    })
  );
  const tsv = (await Deno.readTextFile(`${dir}/pairs.tsv`)).replace(/^\uFEFF/, "");
  const labels = Int32Array.from(tsv.trim().split("\n").slice(1), (l) => Number(l.split("\t")[0]));
  assert.equal(labels.length, rows.length);
  return {
    config,
    model,
    batch: {
      inputIds,
      attentionMask,
      labels,
      batchSize: rows.length,
      seqLen,
      indices: rows.map((_, i) => i),
    },
    expected,
  };
}

async function values(t: tf.Tensor): Promise<Float32Array> {
  const v = (await t.data()) as Float32Array;
  t.dispose();
  return v;
}

const FIXTURES = ["distilbert-tiny-1", "distilbert-tiny-2"];

const PATHS = [["wasm", "off"], ["wasm", "auto"], ["cpu", "off"]] as const;

for (const [backend, blas] of PATHS) {
  const path = blas === "auto" ? `${backend} with BLAS` : backend;
  const skip = (test: string, fixture: string) =>
    needsShared(fixture, test) || (blas === "auto" && needsBlas(test));
  for (const name of FIXTURES) {
    const test = `distilbert: ${name} eval logits match PyTorch on ${path}`;
    Deno.test({ name: test, ignore: skip(test, `fixtures/${name}`) }, async () => {
      await initBackend(backend, { blas });
      assert.equal(activeBlas() !== null, blas === "auto", "the path under test runs");
      const { model, batch, expected } = await loadFixture(name);
      const logits = model.logits(batch, { training: false });
      assert.deepEqual(logits.shape, [batch.batchSize, 2]);
      const got = await values(logits);
      expected.logits.flat().forEach((want, i) => {
        assert.ok(Math.abs(got[i] - want) <= 1e-5, `logit ${i}: ${got[i]} vs ${want}`);
      });
      model.dispose();
    });
  }

  const test = `distilbert: distilbert-tiny-1 loss and gradients match PyTorch on ${path}`;
  const fixture = "fixtures/distilbert-tiny-1/grads.safetensors";
  Deno.test({ name: test, ignore: skip(test, fixture) }, async () => {
    await initBackend(backend, { blas });
    assert.equal(activeBlas() !== null, blas === "auto", "the path under test runs");
    const { model, batch, expected, config } = await loadFixture("distilbert-tiny-1");
    const reference = (await readSafetensorsFile(sharedPath(fixture))).tensors;
    const { loss, grads } = model.lossAndGrads(batch, { training: true, seed: 7 }); // dropout 0
    assert.ok(Math.abs((await values(loss))[0] - expected.loss!) <= 1e-6);
    assert.deepEqual([...grads.keys()].sort(), [...reference.keys()].sort());
    let sumSquares = 0;
    for (const [name, grad] of grads) {
      const disk = toDiskLayout(name, grad.shape, await values(grad));
      const want = reference.get(name)!;
      assert.deepEqual(disk.shape, want.shape, name);
      let diff = 0;
      let norm = 0;
      disk.data.forEach((g, i) => {
        diff += (g - want.data[i]) ** 2;
        norm += want.data[i] ** 2;
        sumSquares += g * g;
      });
      if (name.endsWith("attention.k_lin.bias")) {
        // True gradient exactly 0 (softmax ignores a per-query shift): both sides are noise.
        assert.ok(Math.sqrt(diff) <= 1e-9 && Math.sqrt(norm) <= 1e-9, `${name}: ${diff}`);
      } else {
        assert.ok(Math.sqrt(diff / norm) <= 1e-4, `${name}: relative L2 ${Math.sqrt(diff / norm)}`);
      }
    }
    const gradNorm = Math.sqrt(sumSquares);
    assert.ok(
      Math.abs(gradNorm - expected.grad_norm!) <= 1e-5 * expected.grad_norm!,
      `${gradNorm}`,
    );
    // The batch has [PAD] tokens: nn.Embedding(padding_idx) leaves that row's gradient zero.
    assert.ok(batch.inputIds.includes(config.pad_token_id));
    model.dispose();
  });
}

const PAD_TEST = "distilbert: the [PAD] embedding row gets no gradient, others do";
Deno.test(
  { name: PAD_TEST, ignore: needsShared("fixtures/distilbert-tiny-1", PAD_TEST) },
  async () => {
    await initBackend("wasm");
    const { model, batch, config } = await loadFixture("distilbert-tiny-1");
    // Put [PAD] at attended positions too, so its rows carry real gradient before masking.
    const inputIds = batch.inputIds.map((id: number, i: number) =>
      i % 5 === 3 ? config.pad_token_id : id
    );
    const { loss, grads } = model.lossAndGrads({ ...batch, inputIds }, { training: false });
    const word = await values(grads.get("distilbert.embeddings.word_embeddings.weight")!);
    const row = (r: number) => word.subarray(r * config.dim, (r + 1) * config.dim);
    assert.ok(row(config.pad_token_id).every((g) => g === 0));
    assert.ok(row(inputIds[1]).some((g) => g !== 0));
    tf.dispose([loss, ...grads.values()]);
    model.dispose();
  },
);

const DROPOUT_TEST = "distilbert: training-mode dropout is seeded and off in eval";
Deno.test(
  { name: DROPOUT_TEST, ignore: needsShared("fixtures/distilbert-tiny-2", DROPOUT_TEST) },
  async () => {
    await initBackend("wasm");
    const { model, batch } = await loadFixture("distilbert-tiny-2"); // every dropout > 0
    const run = (training: boolean, seed?: number) =>
      values(model.logits(batch, { training, seed }));
    const evalA = await run(false, 1);
    assert.deepEqual(await run(false, 2), evalA);
    const trainA = await run(true, 11);
    assert.deepEqual(await run(true, 11), trainA);
    assert.notDeepEqual(await run(true, 12), trainA);
    assert.notDeepEqual(trainA, evalA);
    model.dispose();
  },
);

const LEAK_TEST = "distilbert: forward and forward+backward leak no tensors";
Deno.test(
  { name: LEAK_TEST, ignore: needsShared("fixtures/distilbert-tiny-2", LEAK_TEST) },
  async () => {
    await initBackend("wasm");
    const { model, batch } = await loadFixture("distilbert-tiny-2");
    const step = (i: number) => {
      tf.dispose(model.logits(batch, { training: true, seed: i }));
      tf.dispose(model.logits(batch, { training: false }));
      tf.dispose(model.loss(batch, { training: false }));
      const { loss, grads } = model.lossAndGrads(batch, {
        training: true,
        seed: i,
        lossScale: 0.5,
      });
      tf.dispose([loss, ...grads.values()]);
    };
    step(0); // warm-up
    const before = tf.memory().numTensors;
    for (let i = 1; i <= 3; i++) step(i);
    assert.equal(tf.memory().numTensors, before);
    model.dispose();
  },
);

const SCALE_TEST = "distilbert: lossScale scales the gradients, not the returned loss";
Deno.test(
  { name: SCALE_TEST, ignore: needsShared("fixtures/distilbert-tiny-1", SCALE_TEST) },
  async () => {
    await initBackend("wasm");
    const { model, batch } = await loadFixture("distilbert-tiny-1");
    const one = model.lossAndGrads(batch, { training: false });
    const quarter = model.lossAndGrads(batch, { training: false, lossScale: 0.25 });
    assert.equal((await values(quarter.loss))[0], (await values(one.loss))[0]);
    const name = "classifier.weight";
    const a = await values(one.grads.get(name)!);
    const b = await values(quarter.grads.get(name)!);
    a.forEach((g, i) => assert.ok(Math.abs(b[i] - g / 4) <= 1e-7 * Math.abs(g) + 1e-12));
    const evalLoss = await values(model.loss(batch, { training: false }));
    assert.equal(
      evalLoss[0],
      (await values(model.lossAndGrads(batch, { training: false }).loss))[0],
    );
    tf.dispose([...one.grads.values(), ...quarter.grads.values()]);
    model.dispose();
  },
);

const ROUND_TRIP = "distilbert: weights round-trip exactly through memory layout";
Deno.test(
  { name: ROUND_TRIP, ignore: needsShared("fixtures/distilbert-tiny-1/model", ROUND_TRIP) },
  async () => {
    await initBackend("wasm");
    const path = sharedPath("fixtures/distilbert-tiny-1/model/model.safetensors");
    const { tensors } = await readSafetensorsFile(path);
    const { model, config } = await loadFixture("distilbert-tiny-1");
    // Linear weights are [in, out] in memory, everything else as on disk.
    assert.deepEqual(model.params.get("distilbert.transformer.layer.0.ffn.lin1.weight")!.shape, [
      config.dim,
      config.hidden_dim,
    ]);
    assert.deepEqual(model.params.get("classifier.weight")!.shape, [config.dim, 2]);
    assert.deepEqual([...model.params.keys()], [...distilBertParamShapes(config).keys()]);
    const exported = await model.exportWeights();
    assert.deepEqual([...exported.keys()].sort(), [...tensors.keys()].sort());
    for (const [name, w] of exported) {
      assert.deepEqual(w.shape, tensors.get(name)!.shape, name);
      assert.deepEqual(w.data, tensors.get(name)!.data, name);
    }
    const lin = toMemoryLayout("pre_classifier.weight", [2, 3], Float32Array.of(1, 2, 3, 4, 5, 6));
    assert.deepEqual(lin, { shape: [3, 2], data: Float32Array.of(1, 4, 2, 5, 3, 6) });
    const back = toDiskLayout("pre_classifier.weight", lin.shape, lin.data);
    assert.deepEqual(back, { shape: [2, 3], data: Float32Array.of(1, 2, 3, 4, 5, 6) });
    const norm = toMemoryLayout(
      "distilbert.embeddings.LayerNorm.weight",
      [2],
      Float32Array.of(1, 2),
    );
    assert.deepEqual(norm, { shape: [2], data: Float32Array.of(1, 2) });
    model.dispose();
  },
);

const LOAD_ERRORS = "distilbert: fromWeights names missing and mis-shaped tensors";
Deno.test(
  { name: LOAD_ERRORS, ignore: needsShared("fixtures/distilbert-tiny-1/model", LOAD_ERRORS) },
  async () => {
    await initBackend("wasm");
    const { tensors } = await readSafetensorsFile(
      sharedPath("fixtures/distilbert-tiny-1/model/model.safetensors"),
    );
    const { config, model: reference, batch } = await loadFixture("distilbert-tiny-1");
    const before = tf.memory().numTensors;
    const noHead = new Map(tensors);
    for (const name of HEAD_PARAM_NAMES) noHead.delete(name);
    assert.throws(
      () => DistilBertClassifier.fromWeights(config, noHead, { source: "m/model.safetensors" }),
      new Error(
        'Cannot load "m/model.safetensors": missing tensors "pre_classifier.weight", ' +
          '"pre_classifier.bias", "classifier.weight", "classifier.bias"',
      ),
    );
    const wrong = new Map<string, WeightData>(tensors);
    wrong.set("classifier.weight", { shape: [3, 24], data: new Float32Array(72) });
    assert.throws(
      () => DistilBertClassifier.fromWeights(config, wrong, { source: "m/model.safetensors" }),
      new Error(
        'Cannot load "m/model.safetensors": tensor "classifier.weight" has shape [3, 24], ' +
          "expected [2, 24]",
      ),
    );
    assert.equal(tf.memory().numTensors, before, "a failed load frees what it made");
    // A masked-LM checkpoint (no head) gets the one seeded head; the encoder is unchanged.
    const withHead = (seed: number) => new Map([...noHead, ...initHeadWeights(config, seed)]);
    const a = DistilBertClassifier.fromWeights(config, withHead(5));
    const b = DistilBertClassifier.fromWeights(config, withHead(5));
    const head = await values(a.params.get("classifier.weight")!.clone());
    assert.deepEqual(await values(b.params.get("classifier.weight")!.clone()), head);
    assert.deepEqual(Array.from(await values(a.params.get("classifier.bias")!.clone())), [0, 0]);
    const std = Math.sqrt(head.reduce((s, x) => s + x * x, 0) / head.length);
    assert.ok(std > 0.01 && std < 0.04, `head std ${std}`);
    const c = DistilBertClassifier.fromWeights(config, withHead(6));
    assert.notDeepEqual(await values(c.params.get("classifier.weight")!.clone()), head);
    const encoder = "distilbert.transformer.layer.2.ffn.lin2.weight";
    assert.deepEqual(
      await values(c.params.get(encoder)!.clone()),
      await values(reference.params.get(encoder)!.clone()),
    );
    // assignParams replaces values (memory layout): copying the reference head back restores
    // the reference logits.
    const restored = new Map<string, Float32Array>();
    for (const name of HEAD_PARAM_NAMES) {
      restored.set(name, await values(reference.params.get(name)!.clone()));
    }
    a.assignParams(restored);
    assert.deepEqual(
      await values(a.logits(batch, { training: false })),
      await values(reference.logits(batch, { training: false })),
    );
    for (const m of [a, b, c, reference]) m.dispose();
  },
);

Deno.test("distilbert: random init follows HF _init_weights and the seed", async () => {
  await initBackend("wasm");
  const config = tinyConfig(
    { dim: 8, hidden_dim: 16, n_layers: 1, vocab_size: 11, max_position_embeddings: 6 },
  );
  const a = DistilBertClassifier.random(config, { seed: 3 });
  const b = DistilBertClassifier.random(config, { seed: 3 });
  const c = DistilBertClassifier.random(config, { seed: 4 });
  const get = (m: DistilBertClassifier, n: string) => values(m.params.get(n)!.clone());
  const word = await get(a, "distilbert.embeddings.word_embeddings.weight");
  assert.ok(word.subarray(0, 8).every((x) => x === 0), "[PAD] row is zero");
  assert.ok(word.subarray(8).every((x) => x !== 0));
  assert.deepEqual(await get(b, "distilbert.embeddings.word_embeddings.weight"), word);
  assert.notDeepEqual(await get(c, "distilbert.embeddings.word_embeddings.weight"), word);
  assert.ok((await get(a, "distilbert.embeddings.LayerNorm.weight")).every((x) => x === 1));
  assert.ok((await get(a, "distilbert.transformer.layer.0.ffn.lin1.bias")).every((x) => x === 0));
  const batch: Batch = {
    inputIds: Int32Array.of(1, 5, 7, 0, 2, 3, 4, 10),
    attentionMask: Int32Array.of(1, 1, 1, 0, 1, 1, 1, 1),
    labels: Int32Array.of(0, 1),
    batchSize: 2,
    seqLen: 4,
    indices: [0, 1],
  };
  assert.deepEqual(
    await values(a.logits(batch, { training: false })),
    await values(b.logits(batch, { training: false })),
  );
  assert.throws(
    () => a.logits({ ...batch, seqLen: 8, batchSize: 1 }, { training: false }),
    /seqLen 8 exceeds max_position_embeddings 6/,
  );
  assert.throws(
    () => a.loss({ ...batch, labels: new Int32Array(0) }, { training: false }),
    /expected 2 labels, got 0/,
  );
  assert.throws(
    () => a.logits({ ...batch, inputIds: batch.inputIds.map(() => 11) }, { training: false }),
    /token id 11 outside \[0, 11\)/,
  );
  for (const m of [a, b, c]) m.dispose();
});

Deno.test("distilbert: config.json validation names the file and field", () => {
  const ok = parseDistilBertConfig(
    { dim: 48, n_heads: 4, id2label: { "1": "yes", "0": "no" } },
    "c.json",
  );
  assert.deepEqual([ok.dim, ok.n_heads, ok.hidden_dim, ok.dropout], [48, 4, 3072, 0.1]);
  assert.deepEqual(ok.id2label, ["no", "yes"]);
  assert.deepEqual(parseDistilBertConfig({ num_labels: 3 }, "c.json").id2label, [
    "LABEL_0",
    "LABEL_1",
    "LABEL_2",
  ]);
  const json = distilBertConfigJson(ok);
  assert.deepEqual([json.dim, json.id2label, json.label2id], [48, { "0": "no", "1": "yes" }, {
    no: 0,
    yes: 1,
  }]);
  const bad: [unknown, string][] = [
    [[], 'Invalid "m/config.json": expected a JSON object'],
    [
      { n_heads: "two" },
      'Invalid "m/config.json": field "n_heads" must be a positive integer, found "two"',
    ],
    [
      { dim: 10, n_heads: 4 },
      'Invalid "m/config.json": field "dim" (10) must be a multiple of "n_heads" (4)',
    ],
    [
      { dropout: 1 },
      'Invalid "m/config.json": field "dropout" must be a number in [0, 1), found 1',
    ],
    [
      { activation: "relu" },
      'Invalid "m/config.json": field "activation" must be "gelu", found "relu"',
    ],
    [
      { pad_token_id: -1 },
      'Invalid "m/config.json": field "pad_token_id" must be an integer in [0, vocab_size), found -1',
    ],
    [
      { id2label: { "0": "a", "2": "b" } },
      'Invalid "m/config.json": field "id2label" must map "0".."1" to names, found key "2"',
    ],
    [
      { sinusoidal_pos_embds: true },
      'Invalid "m/config.json": field "sinusoidal_pos_embds" must be false (learned position embeddings only)',
    ],
  ];
  for (const [input, message] of bad) {
    assert.throws(() => parseDistilBertConfig(input, "m/config.json"), new InputError(message));
  }
});
