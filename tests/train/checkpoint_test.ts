import assert from "node:assert/strict";
import { join } from "node:path";
import { InputError } from "../../core/mod.ts";
import {
  AdamW,
  COMPLETE_MARKER,
  latestCheckpoint,
  listCheckpoints,
  loadCheckpointState,
  OPTIMIZER_FILE,
  saveCheckpoint,
  TRAINER_STATE_FILE,
  type TrainerState,
} from "../../train/mod.ts";
import { readSafetensorsFile, writeSafetensorsFile } from "../../io/mod.ts";
import {
  distilBertParamShapes,
  loadPretrained,
  memoryShape,
  readTokenizerFiles,
  toMemoryLayout,
} from "../../model/mod.ts";
import { tinyConfig, withTempDir, writeTinyModel } from "../_helpers.ts";

function state(step: number, overrides: Partial<TrainerState> = {}): TrainerState {
  return {
    version: 1,
    global_step: step,
    epoch: step / 4,
    epoch_index: Math.floor(step / 4),
    batches_consumed_in_epoch: step % 4,
    steps_per_epoch: 4,
    total_steps: 12,
    optimizer_steps: step,
    rng: { seed: 7, scheme: "test" },
    best_metric: 0.5,
    best_model_checkpoint: null,
    evals_without_improvement: 0,
    nonfinite_steps: 0,
    consecutive_nonfinite: 0,
    log_history: [{ step, "train/loss": 0.5 }],
    config: { lr: 1e-3 },
    ...overrides,
  };
}

/** A tiny model's parameters in memory layout, their shapes, and an optimizer after 2 steps. */
async function tinyTraining(dir: string) {
  const config = await writeTinyModel(join(dir, "model"));
  const pretrained = await loadPretrained(join(dir, "model"), { seed: 0 });
  const params = new Map<string, Float32Array>();
  const shapes = new Map<string, number[]>();
  for (const [name, w] of pretrained.weights) {
    const mem = toMemoryLayout(name, w.shape, w.data);
    params.set(name, Float32Array.from(mem.data));
    shapes.set(name, mem.shape);
  }
  const optimizer = new AdamW({ weightDecay: 0.01 });
  for (let s = 0; s < 2; s++) {
    const grads = new Map([...params].map(([n, p]) => [n, p.map((x, i) => Math.sin(x + i + s))]));
    optimizer.step(params, grads, { lr: 1e-3 });
  }
  return { config, params, shapes, optimizer, modelDir: join(dir, "model") };
}

Deno.test("checkpoint: save then load restores moments and state exactly; the model loads as HF", async () => {
  await withTempDir(async (dir) => {
    const t = await tinyTraining(dir);
    const ck = join(dir, "run");
    const path = await saveCheckpoint(ck, {
      config: t.config,
      params: t.params,
      shapes: t.shapes,
      optimizer: t.optimizer.state(),
      state: state(8),
      tokenizerFiles: await readTokenizerFiles(t.modelDir),
      extraJson: { "eval_results.json": { eval_accuracy: 0.5 } },
    });
    assert.equal(path, join(ck, "checkpoint-8"));
    const names = (await Array.fromAsync(Deno.readDir(path))).map((e) => e.name).sort();
    assert.deepEqual(names, [
      COMPLETE_MARKER,
      "config.json",
      "eval_results.json",
      "model.safetensors",
      OPTIMIZER_FILE,
      TRAINER_STATE_FILE,
      "vocab.txt",
    ]);
    const siblings = (await Array.fromAsync(Deno.readDir(ck))).map((e) => e.name);
    assert.deepEqual(siblings, ["checkpoint-8"], "no temporary left behind");

    const loaded = await loadCheckpointState(path, t.shapes);
    assert.deepEqual(loaded.state, state(8));
    assert.equal(loaded.optimizer.step, 2);
    for (const [name, m] of t.optimizer.state().m) {
      assert.deepEqual(loaded.optimizer.m.get(name), m, `exp_avg ${name}`);
      assert.deepEqual(loaded.optimizer.v.get(name), t.optimizer.state().v.get(name));
    }
    const model = await loadPretrained(path, { seed: 0 });
    assert.equal(model.headInitialised, false);
    for (const [name, w] of model.weights) {
      const mem = toMemoryLayout(name, w.shape, w.data);
      assert.deepEqual(mem.shape, t.shapes.get(name));
      assert.deepEqual(mem.data, t.params.get(name), `"${name}" round-trips its layout`);
    }
    const disk = await readSafetensorsFile(join(path, OPTIMIZER_FILE));
    const linear = "distilbert.transformer.layer.0.ffn.lin1.weight";
    const diskShape = distilBertParamShapes(t.config).get(linear)!;
    assert.deepEqual(disk.tensors.get(`exp_avg.${linear}`)!.shape, diskShape, "[out, in] on disk");
    assert.deepEqual(memoryShape(linear, diskShape), t.shapes.get(linear));
    assert.deepEqual(await latestCheckpoint(ck), { step: 8, path });
  });
});

Deno.test("checkpoint: a step-0 optimizer has no moments, and saving again replaces the folder", async () => {
  await withTempDir(async (dir) => {
    const t = await tinyTraining(dir);
    const ck = join(dir, "run");
    const empty = new AdamW({ weightDecay: 0 });
    const contents = {
      config: tinyConfig(),
      params: t.params,
      shapes: t.shapes,
      optimizer: empty.state(),
      state: state(0),
    };
    const path = await saveCheckpoint(ck, contents);
    const loaded = await loadCheckpointState(path, t.shapes);
    assert.equal(loaded.optimizer.step, 0);
    assert.equal(loaded.optimizer.m.size, 0);
    await saveCheckpoint(ck, { ...contents, state: state(0, { best_metric: 0.75 }) });
    assert.equal((await loadCheckpointState(path, t.shapes)).state.best_metric, 0.75);
    const siblings = (await Array.fromAsync(Deno.readDir(ck))).map((e) => e.name);
    assert.deepEqual(siblings, ["checkpoint-0"]);
  });
});

Deno.test("checkpoint: incomplete or foreign folders are input errors naming the file", async () => {
  await withTempDir(async (dir) => {
    const t = await tinyTraining(dir);
    const ck = join(dir, "run");
    const path = await saveCheckpoint(ck, {
      config: t.config,
      params: t.params,
      shapes: t.shapes,
      optimizer: t.optimizer.state(),
      state: state(4),
    });
    const fails = async (message: string) =>
      await assert.rejects(loadCheckpointState(path, t.shapes), (err: Error) => {
        assert.ok(err instanceof InputError, String(err));
        assert.equal(err.message, message);
        return true;
      });
    const statePath = join(path, TRAINER_STATE_FILE), optPath = join(path, OPTIMIZER_FILE);

    const good = await Deno.readTextFile(statePath);
    await Deno.writeTextFile(statePath, JSON.stringify({ version: 2, global_step: 4 }));
    await fails(`Invalid "${statePath}": not a mrpc-tune trainer state (version 1)`);
    await Deno.writeTextFile(statePath, good);

    const { tensors, metadata } = await readSafetensorsFile(optPath);
    const gone = "exp_avg_sq.classifier.bias";
    tensors.delete(gone);
    await writeSafetensorsFile(optPath, tensors, metadata);
    await fails(`Invalid "${optPath}": missing tensor "${gone}"`);

    await Deno.remove(join(path, COMPLETE_MARKER));
    await fails(`Cannot resume from "${path}": not a complete checkpoint folder`);
    assert.deepEqual(await listCheckpoints(ck), [], "an unmarked folder is not a checkpoint");
  });
});
