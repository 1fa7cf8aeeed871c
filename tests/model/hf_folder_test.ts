import assert from "node:assert/strict";
import { join } from "node:path";
import { createRng, InputError } from "../../core/mod.ts";
import {
  distilBertParamShapes,
  loadPretrained,
  readModelConfig,
  savePretrained,
  type WeightData,
} from "../../model/mod.ts";
import { readSafetensorsFile, writeSafetensorsFile } from "../../io/mod.ts";
import { tinyConfig, withTempDir } from "../_helpers.ts";

const TINY = tinyConfig({
  vocab_size: 50,
  max_position_embeddings: 16,
  dim: 8,
  hidden_dim: 12,
});

function randomWeights(seed: number): Map<string, WeightData> {
  const rng = createRng(seed);
  const out = new Map<string, WeightData>();
  for (const [name, shape] of distilBertParamShapes(TINY)) {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1)).map(() => rng() - 0.5);
    out.set(name, { shape, data });
  }
  return out;
}

Deno.test("pretrained: save -> load round trip keeps every tensor, labels and tokenizer files", async () => {
  await withTempDir(async (dir) => {
    const tok = join(dir, "tok");
    await Deno.mkdir(tok);
    await Deno.writeTextFile(join(tok, "vocab.txt"), "[PAD]\n[UNK]\n");
    const out = join(dir, "out");
    await Deno.mkdir(out);
    const weights = randomWeights(1);
    await savePretrained(out, { config: TINY, weights, tokenizerDir: tok });
    const cfg = JSON.parse(await Deno.readTextFile(join(out, "config.json")));
    assert.deepEqual(cfg.architectures, ["DistilBertForSequenceClassification"]);
    assert.deepEqual(cfg.id2label, { "0": "not_equivalent", "1": "equivalent" });
    assert.deepEqual(cfg.label2id, { not_equivalent: 0, equivalent: 1 });
    assert.equal(await Deno.readTextFile(join(out, "vocab.txt")), "[PAD]\n[UNK]\n");
    const logs: string[] = [];
    const loaded = await loadPretrained(out, { seed: 0, log: (l) => logs.push(l) });
    assert.equal(loaded.headInitialised, false);
    assert.deepEqual(logs, []);
    assert.equal(loaded.weights.size, weights.size);
    for (const [name, w] of weights) assert.deepEqual(loaded.weights.get(name), w, name);
    assert.deepEqual((await readModelConfig(out)).id2label, TINY.id2label);
  });
});

Deno.test("pretrained: the hub's masked-LM layout loads with a new, seeded, logged head", async () => {
  await withTempDir(async (dir) => {
    const weights = randomWeights(2);
    for (
      const n of [
        "pre_classifier.weight",
        "pre_classifier.bias",
        "classifier.weight",
        "classifier.bias",
      ]
    ) {
      weights.delete(n);
    }
    weights.set("vocab_transform.weight", { shape: [8, 8], data: new Float32Array(64) });
    weights.set("vocab_layer_norm.weight", { shape: [8], data: new Float32Array(8) });
    weights.set("vocab_projector.bias", { shape: [50], data: new Float32Array(50) });
    await writeSafetensorsFile(join(dir, "model.safetensors"), weights);
    await Deno.writeTextFile(join(dir, "config.json"), JSON.stringify(TINY.raw));
    const logs: string[] = [];
    const a = await loadPretrained(dir, { seed: 7, log: (l) => logs.push(l) });
    const b = await loadPretrained(dir, { seed: 7 });
    const c = await loadPretrained(dir, { seed: 8 });
    assert.equal(a.headInitialised, true);
    assert.equal(logs.length, 1);
    assert.match(logs[0], /Initialised the classification head .*N\(0, 0\.02\).*seed 7/);
    assert.ok(![...a.weights.keys()].some((n) => n.startsWith("vocab_")));
    const w = a.weights.get("classifier.weight")!;
    assert.deepEqual(w.shape, [2, 8]);
    assert.deepEqual(w.data, b.weights.get("classifier.weight")!.data);
    assert.notDeepEqual(w.data, c.weights.get("classifier.weight")!.data);
    assert.ok(a.weights.get("classifier.bias")!.data.every((x) => x === 0));
    const std = Math.sqrt(
      a.weights.get("pre_classifier.weight")!.data.reduce((s, x) => s + x * x, 0) / 64,
    );
    assert.ok(std > 0.01 && std < 0.03, `std ${std}`);
  });
});

Deno.test("pretrained: missing, mis-shaped, unexpected tensors and pickle files are clear errors", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(join(dir, "config.json"), JSON.stringify(TINY.raw));
    await assert.rejects(loadPretrained(dir, { seed: 0 }), /missing "model\.safetensors"/);
    await Deno.writeFile(join(dir, "pytorch_model.bin"), new Uint8Array([0x80, 2]));
    await assert.rejects(loadPretrained(dir, { seed: 0 }), /pytorch_model\.bin.*arbitrary code/);
    const weights = randomWeights(3);
    weights.delete("distilbert.transformer.layer.1.ffn.lin2.bias");
    await writeSafetensorsFile(join(dir, "model.safetensors"), weights);
    await assert.rejects(
      loadPretrained(dir, { seed: 0 }),
      /missing tensor "distilbert\.transformer\.layer\.1\.ffn\.lin2\.bias" of shape \[8\]/,
    );
    weights.set("distilbert.transformer.layer.1.ffn.lin2.bias", {
      shape: [9],
      data: new Float32Array(9),
    });
    await writeSafetensorsFile(join(dir, "model.safetensors"), weights);
    await assert.rejects(
      loadPretrained(dir, { seed: 0 }),
      /tensor "distilbert\.transformer\.layer\.1\.ffn\.lin2\.bias" has shape \[9\], expected \[8\]/,
    );
    weights.set("distilbert.transformer.layer.1.ffn.lin2.bias", {
      shape: [8],
      data: new Float32Array(8),
    });
    weights.set("extra.weight", { shape: [1], data: new Float32Array(1) });
    await writeSafetensorsFile(join(dir, "model.safetensors"), weights);
    await assert.rejects(loadPretrained(dir, { seed: 0 }), /unexpected tensor "extra\.weight"/);
    const file = await readSafetensorsFile(join(dir, "model.safetensors"));
    assert.ok(file.tensors.has("extra.weight"));
  });
});

Deno.test("pretrained: a model with a non-finite weight is refused naming the tensor", async () => {
  await withTempDir(async (dir) => {
    const weights = randomWeights(3);
    weights.get("distilbert.transformer.layer.1.ffn.lin2.weight")!.data[5] = NaN;
    await savePretrained(dir, { config: TINY, weights });
    await assert.rejects(
      loadPretrained(dir, { seed: 0 }),
      new InputError(
        `Cannot load "${join(dir, "model.safetensors")}": tensor ` +
          `"distilbert.transformer.layer.1.ffn.lin2.weight" holds NaN at index 5 (a diverged or ` +
          `corrupted model)`,
      ),
    );
  });
});
