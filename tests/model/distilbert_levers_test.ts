/**
 * The speed levers of docs/perf.md change no numbers: the dropout-mask kernel gives exactly
 * `tf.dropout`'s values, the backward pass never uses transposed weights older than the
 * parameters, and the fused GELU and LayerNorm kernels give the tfjs ops' loss and gradients.
 */
import assert from "node:assert/strict";
import {
  activeBlas,
  fusedLayers,
  initBackend,
  readFloats,
  setFusedLayers,
  tf,
} from "../../backend/mod.ts";
import { DistilBertClassifier, WORD_EMBEDDINGS } from "../../model/mod.ts";
import { needsBlas, tinyConfig } from "../_helpers.ts";
// Private: the dropout kernel must give tf.dropout's exact mask values, which the model only
// shows mixed into its outputs.
import { dropout } from "../../model/_ops.ts";
// Private: the mask kernel itself (its JS loop, the cpu path), against tf.dropout's mask.
import { fillDropoutMask } from "../../backend/_wasm_kernels.ts";

const CASES: Array<[number[], number, number]> = [
  [[2, 3, 16, 16], 0.1, 1901295881],
  [[64, 48], 0.2, 0],
  [[1000], 0.5, 4294967295],
  // Attention's probabilities at batch 16 × 44 tokens: on wasm, our module's dropout_mask loop.
  [[16, 12, 44, 44], 0.1, 2654435769],
];

for (const backend of ["wasm", "cpu"] as const) {
  Deno.test(`levers: the dropout kernel gives tf.dropout's exact values on ${backend}`, async () => {
    await initBackend(backend);
    for (const [shape, rate, seed] of CASES) {
      const x = tf.randomNormal(shape, 0, 1, "float32", 3);
      const want = await tf.dropout(x, rate, undefined, seed).data();
      const got = await tf.tidy(() => dropout(x, rate, seed)).data();
      assert.deepEqual(Array.from(got), Array.from(want), `${shape} rate ${rate} seed ${seed}`);
      tf.dispose(x);
    }
  });
}

Deno.test("levers: dropout masks keep 1 - rate of the elements, scaled, and follow the seed", () => {
  const a = new Float32Array(100_000), b = new Float32Array(100_000);
  fillDropoutMask(a, 0.1, 5);
  fillDropoutMask(b, 0.1, 5);
  assert.deepEqual(a, b);
  const kept = a.filter((v) => v !== 0);
  assert.ok(Math.abs(kept.length / a.length - 0.9) < 0.005, `kept ${kept.length}`);
  assert.ok(kept.every((v) => v === Math.fround(1 / Math.fround(0.9))));
  fillDropoutMask(b, 0.1, 6);
  assert.notDeepEqual(a, b);
});

for (const blas of ["off", "auto"] as const) {
  const name = `levers: gradients after assignParams use the new weights (${
    blas === "off" ? "XNNPACK: transposed cache" : "BLAS: no cache"
  })`;
  Deno.test({ name, ignore: blas === "auto" && needsBlas(name) }, async () => {
    await initBackend("wasm", { blas });
    assert.equal(activeBlas() !== null, blas === "auto");
    const config = tinyConfig({
      vocab_size: 50,
      max_position_embeddings: 16,
      dropout: 0,
      attention_dropout: 0,
      seq_classif_dropout: 0,
    });
    const batch = {
      batchSize: 2,
      seqLen: 5,
      inputIds: Int32Array.from([1, 7, 9, 3, 2, 1, 4, 8, 2, 0]),
      attentionMask: Int32Array.from([1, 1, 1, 1, 1, 1, 1, 1, 1, 0]),
      labels: Int32Array.from([1, 0]),
      indices: [0, 1],
    };
    const grads = async (model: DistilBertClassifier) => {
      const { loss, grads } = model.lossAndGrads(batch, { training: false });
      const out = new Map<string, number[]>();
      for (const [name, g] of grads) out.set(name, Array.from(await g.data()));
      tf.dispose([loss, ...grads.values()]);
      return out;
    };
    const model = DistilBertClassifier.random(config, { seed: 1 });
    const other = DistilBertClassifier.random(config, { seed: 2 });
    try {
      await grads(model); // makes the transposed weights from seed 1's parameters
      const values = new Map<string, Float32Array>();
      for (const [name, p] of other.params) values.set(name, (await p.data()) as Float32Array);
      model.assignParams(values);
      assert.deepEqual(await grads(model), await grads(other));
    } finally {
      model.dispose();
      other.dispose();
    }
  });
}

/**
 * Two padded rows of a 40-token vocabulary: token 7 repeats (its embedding rows add up), 0 is
 * [PAD] (its gradient is zero), most ids are unused.
 */
const SMALL_BATCH = {
  batchSize: 2,
  seqLen: 6,
  inputIds: Int32Array.from([1, 7, 9, 7, 2, 0, 1, 4, 7, 2, 0, 0]),
  attentionMask: Int32Array.from([1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 0, 0]),
  labels: Int32Array.from([1, 0]),
  indices: [0, 1],
};

for (const backend of ["wasm", "cpu"] as const) {
  Deno.test(
    `levers: the sparse word-embedding gradient is the dense one's rows exactly (${backend})`,
    async () => {
      await initBackend(backend);
      const config = tinyConfig({ vocab_size: 40, max_position_embeddings: 16 });
      const batch = SMALL_BATCH;
      const model = DistilBertClassifier.random(config, { seed: 3 });
      try {
        const opts = { training: true, seed: 11, lossScale: 0.5 };
        const dense = model.lossAndGrads(batch, opts);
        const sparse = model.lossAndGrads(batch, { ...opts, sparseWordGrad: true });
        assert.equal(dense.rowGrads.size, 0);
        assert.deepEqual([...sparse.rowGrads.keys()], [WORD_EMBEDDINGS]);
        assert.ok(!sparse.grads.has(WORD_EMBEDDINGS));
        assert.equal((await sparse.loss.data())[0], (await dense.loss.data())[0]);
        for (const [name, g] of sparse.grads) {
          assert.deepEqual(await g.data(), await dense.grads.get(name)!.data(), name);
        }
        const { rows, values } = sparse.rowGrads.get(WORD_EMBEDDINGS)!;
        assert.deepEqual(Array.from(rows), [1, 7, 9, 2, 0, 4]);
        assert.deepEqual(values.shape, [rows.length, config.dim]);
        const scattered = new Float32Array(config.vocab_size * config.dim);
        const v = await values.data();
        rows.forEach((row, r) =>
          scattered.set(v.subarray(r * config.dim, (r + 1) * config.dim), row * config.dim)
        );
        const want = await dense.grads.get(WORD_EMBEDDINGS)!.data() as Float32Array;
        assert.deepEqual(scattered, want);
        assert.ok(want.subarray(7 * config.dim, 8 * config.dim).some((x) => x !== 0));
        assert.ok(want.subarray(0, config.dim).every((x) => x === 0)); // [PAD]
        tf.dispose([
          dense.loss,
          sparse.loss,
          ...dense.grads.values(),
          ...sparse.grads.values(),
          values,
        ]);
        const before = tf.memory().numTensors;
        const again = model.lossAndGrads(batch, { ...opts, sparseWordGrad: true });
        tf.dispose([
          again.loss,
          ...again.grads.values(),
          again.rowGrads.get(WORD_EMBEDDINGS)!.values,
        ]);
        assert.equal(tf.memory().numTensors, before);
      } finally {
        model.dispose();
      }
    },
  );

  Deno.test(`levers: readFloats gives a float32 tensor's values (${backend})`, async () => {
    await initBackend(backend);
    const t = tf.randomNormal([3, 5], 0, 1, "float32", 4);
    const i = tf.tensor1d([1, 2], "int32");
    try {
      assert.deepEqual(Array.from(readFloats(t)), Array.from(t.dataSync()));
      assert.throws(() => readFloats(i), /readFloats: expected a float32 tensor, got int32/);
    } finally {
      tf.dispose([t, i]);
    }
  });
}

Deno.test("levers: the fused GELU and LayerNorm kernels run on wasm and give the tfjs ops' loss and gradients", async () => {
  await initBackend("wasm");
  assert.ok(fusedLayers(), "our SIMD kernels load here");
  const config = tinyConfig({ vocab_size: 40, max_position_embeddings: 16 });
  const batch = SMALL_BATCH;
  const model = DistilBertClassifier.random(config, { seed: 4 });
  const run = async () => {
    const { loss, grads } = model.lossAndGrads(batch, { training: true, seed: 3 });
    const out = { loss: (await loss.data())[0], grads: new Map<string, Float32Array>() };
    for (const [name, g] of grads) out.grads.set(name, (await g.data()) as Float32Array);
    tf.dispose([loss, ...grads.values()]);
    return out;
  };
  try {
    const profile = await tf.profile(() => {
      const { loss, grads } = model.lossAndGrads(batch, { training: true, seed: 3 });
      tf.dispose([loss, ...grads.values()]);
    });
    const kernels = new Set(profile.kernels.map((k) => k.name));
    for (const k of ["MrpcTuneGelu", "MrpcTuneGeluGrad", "MrpcTuneLayerNorm"]) {
      assert.ok(kernels.has(k), `${k} ran`);
    }
    assert.ok(kernels.has("MrpcTuneLayerNormGrad") && !kernels.has("Erf"), "no tfjs GELU left");
    const before = tf.memory().numTensors;
    const fused = await run();
    assert.equal(tf.memory().numTensors, before, "a fused pass leaves no tensor behind");
    setFusedLayers(false);
    const plain = await run();
    assert.ok(Math.abs(fused.loss - plain.loss) < 1e-6, `${fused.loss} vs ${plain.loss}`);
    for (const [name, g] of plain.grads) {
      const got = fused.grads.get(name)!;
      const scale = g.reduce((m, v) => Math.max(m, Math.abs(v)), 1e-3);
      const worst = g.reduce((m, v, i) => Math.max(m, Math.abs(v - got[i])), 0);
      assert.ok(worst <= 1e-4 * scale, `${name}: off by ${worst} (scale ${scale})`);
    }
  } finally {
    setFusedLayers(true);
    model.dispose();
  }
});
