/**
 * The default path end to end against a loopback Hub: `train` with no `--train_file` and
 * `--model distilbert-base-uncased` downloads MRPC parquet files and a masked-LM checkpoint
 * (no classification head, `vocab_*` tensors) through HF_ENDPOINT, initialises and logs the new
 * head, trains, and `predict` then reads the result.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { MRPC_HUB_FILES, MRPC_HUB_REPO } from "../../data/mod.ts";
import { HEAD_PARAM_NAMES } from "../../model/mod.ts";
import { readSafetensorsFile, serializeSafetensors } from "../../io/mod.ts";
import { needsShared, runMain, sharedPath, withTempDir } from "../_helpers.ts";
import { type HubFile, startHubServer } from "../hub/_hub_server.ts";
import { mrpcParquetBytes } from "../data/_mrpc_fixture.ts";
import { tinyPairs } from "./_train_helpers.ts";

const NAME = "hub: train and predict with the hub's masked-LM distilbert layout and MRPC parquet";

async function maskedLmFiles(modelDir: string): Promise<HubFile[]> {
  const file = await readSafetensorsFile(join(modelDir, "model.safetensors"));
  const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const [name, t] of file.tensors) {
    if (!HEAD_PARAM_NAMES.includes(name)) tensors.set(name, { shape: t.shape, data: t.data });
  }
  const dim = tensors.get("distilbert.embeddings.LayerNorm.weight")!.shape[0];
  tensors.set("vocab_transform.weight", { shape: [dim, dim], data: new Float32Array(dim * dim) });
  tensors.set("vocab_layer_norm.bias", { shape: [dim], data: new Float32Array(dim) });
  const model = (filename: string, bytes: Uint8Array): HubFile => ({
    repoType: "model",
    repoId: "distilbert-base-uncased",
    filename,
    bytes,
    lfs: filename.endsWith(".safetensors"),
  });
  const files = [model("model.safetensors", serializeSafetensors(tensors))];
  for (const f of ["config.json", "tokenizer.json", "tokenizer_config.json", "vocab.txt"]) {
    files.push(model(f, await Deno.readFile(join(modelDir, f))));
  }
  return files;
}

Deno.test({
  name: NAME,
  ignore: needsShared("fixtures/distilbert-tiny-2/model", NAME),
  async fn() {
    await withTempDir(async (dir) => {
      const rows = (seed: number) =>
        tinyPairs(12, seed).map((p) => ({ ...p, label: p.label as 0 | 1 }));
      const dataset = (split: "train" | "validation", seed: number): HubFile => ({
        repoType: "dataset",
        repoId: MRPC_HUB_REPO,
        filename: MRPC_HUB_FILES[split],
        bytes: mrpcParquetBytes(rows(seed)),
      });
      const files = [
        ...(await maskedLmFiles(sharedPath("fixtures", "distilbert-tiny-2", "model"))),
        dataset("train", 1),
        dataset("validation", 2),
      ];
      const server = startHubServer(files);
      try {
        const env = { HF_ENDPOINT: server.endpoint, HF_HUB_CACHE: join(dir, "cache") };
        const out = join(dir, "models");
        const r = await runMain(
          ["--checkpoint_dir", out, "--max_steps", "2", "--batch_size", "4", "--backend", "wasm"],
          { env },
        );
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stderr, /Initialised the classification head .*seed 42/);
        assert.ok(server.requests.some((q) => q.path.includes("mrpc/train-00000-of-00001")));
        const saved = await readSafetensorsFile(join(out, "model.safetensors"));
        for (const name of HEAD_PARAM_NAMES) assert.ok(saved.tensors.has(name), name);
        assert.ok(![...saved.tensors.keys()].some((n) => n.startsWith("vocab_")));
        // Offline from now on: the cache alone serves a second run's downloads.
        const tsv = join(dir, "in.tsv");
        await Deno.writeTextFile(
          tsv,
          "\uFEFFQuality\t#1 ID\t#2 ID\t#1 String\t#2 String\n1\t1\t2\tgood day\tday good\n",
        );
        const p = await runMain(["predict", "--model", out, "--input", tsv], {
          env: { ...env, HF_HUB_OFFLINE: "1" },
        });
        assert.equal(p.code, 0, p.stderr);
        assert.equal(p.stdout.trim().split("\n").length, 1);
      } finally {
        await server.close();
      }
    });
  },
});
