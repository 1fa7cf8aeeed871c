import assert from "node:assert/strict";
import { join } from "node:path";
import { InputError, RunError } from "../../core/mod.ts";
import { initBackend, tf } from "../../backend/mod.ts";
import { evaluate, listCheckpoints, lrAt, SCHEDULE_KINDS } from "../../train/mod.ts";
import { DistilBertClassifier } from "../../model/mod.ts";
import { readSafetensorsFile, writeSafetensorsFile } from "../../io/mod.ts";
import {
  assertTensorsClose,
  encodeWith,
  NO_DROPOUT,
  readJson,
  readTensors,
  tinyPairs,
  trainInProcess,
  writeTinyRun,
} from "./_train_helpers.ts";
import { tinyConfig, VOCAB, withTempDir } from "../_helpers.ts";

type LogEntry = Record<string, number>;

async function logHistory(checkpoint: string): Promise<LogEntry[]> {
  return (await readJson(join(checkpoint, "trainer_state.json"))).log_history as LogEntry[];
}

Deno.test("trainer: batch 8 equals batch 4 × --gradient_accumulation_steps 2 after one step", async () => {
  await withTempDir(async (dir) => {
    const run = await writeTinyRun(dir, { train: 8, config: NO_DROPOUT });
    const results = [];
    const variants: [string, string[]][] = [
      ["b8", ["--batch_size", "8"]],
      ["b4x2", ["--batch_size", "4", "--gradient_accumulation_steps", "2"]],
    ];
    for (const [name, flags] of variants) {
      const ck = join(dir, name);
      const { result } = await trainInProcess([
        ...run.dataFlags,
        ...flags,
        ...["--epochs", "1", "--lr", "1e-3", "--checkpoint_dir", ck, "--logging_steps", "1"],
      ]);
      assert.equal(result.globalStep, 1, "8 examples are one optimizer step either way");
      results.push({
        weights: await readTensors(join(ck, "checkpoint-1", "model.safetensors")),
        log: (await logHistory(join(ck, "checkpoint-1")))[0],
      });
    }
    const [whole, accumulated] = results;
    assert.ok(Math.abs(whole.log["train/loss"] - accumulated.log["train/loss"]) <= 1e-6);
    const norm = whole.log["train/grad_norm"];
    assert.ok(Math.abs(norm - accumulated.log["train/grad_norm"]) <= 1e-6 * norm);
    const keyBias = (n: string) => n.endsWith("attention.k_lin.bias");
    const rest = (m: Map<string, Float32Array>) => new Map([...m].filter(([n]) => !keyBias(n)));
    assertTensorsClose(rest(accumulated.weights), rest(whole.weights), 1e-6);
    for (const [name, w] of whole.weights) {
      if (!keyBias(name)) continue;
      const a = accumulated.weights.get(name)!;
      w.forEach((x, i) => assert.ok(Math.abs(x - a[i]) <= 2e-3, `${name}: |update| <= lr`));
    }
  });
});

Deno.test("trainer: each step uses lrAt(step) of the chosen schedule (logged train/lr)", async () => {
  await withTempDir(async (dir) => {
    const run = await writeTinyRun(dir, { train: 8 });
    for (const kind of SCHEDULE_KINDS) {
      const ck = join(dir, kind);
      await trainInProcess([
        ...run.dataFlags,
        ...["--batch_size", "4", "--max_steps", "5", "--warmup_steps", "2", "--lr", "1e-3"],
        ...["--lr_scheduler", kind, "--logging_steps", "1", "--checkpoint_dir", ck],
      ]);
      const logged = (await logHistory(join(ck, "checkpoint-5")))
        .filter((e) => "train/lr" in e)
        .map((e) => [e.step, e["train/lr"]]);
      const schedule = { kind, baseLr: 1e-3, totalSteps: 5, warmupSteps: 2 };
      assert.deepEqual(logged, [1, 2, 3, 4, 5].map((s) => [s, lrAt(s - 1, schedule)]), kind);
      if (kind === "linear") {
        const want = [0, 5e-4, 1e-3, 2e-3 / 3, 1e-3 / 3];
        logged.forEach(([, lr], i) => assert.ok(Math.abs(lr - want[i]) < 1e-15, `step ${i + 1}`));
      }
    }
  });
});

Deno.test("trainer: a first step at learning rate 0 (warmup) leaves the weights unchanged", async () => {
  await withTempDir(async (dir) => {
    const run = await writeTinyRun(dir, { train: 8 });
    const ck = join(dir, "ck");
    await trainInProcess([
      ...run.dataFlags,
      ...["--batch_size", "8", "--max_steps", "1", "--warmup_steps", "1", "--checkpoint_dir", ck],
    ]);
    const before = await readSafetensorsFile(join(run.model, "model.safetensors"));
    const after = await readSafetensorsFile(join(ck, "checkpoint-1", "model.safetensors"));
    for (const [name, t] of before.tensors) {
      assert.deepEqual(after.tensors.get(name)!.data, t.data, name);
    }
    const state = await readJson(join(ck, "checkpoint-1", "trainer_state.json"));
    assert.equal(state.optimizer_steps, 1, "the step was taken, at lr 0");
  });
});

Deno.test("trainer: non-finite weights are never saved (the run stops with a RunError)", async () => {
  await withTempDir(async (dir) => {
    const run = await writeTinyRun(dir, { train: 8 });
    // An unused, decayed embedding row of 1e38: lr × weight_decay = 10 turns it into -9e38 = -Inf.
    const path = join(run.model, "model.safetensors");
    const { tensors } = await readSafetensorsFile(path);
    const emb = tensors.get("distilbert.embeddings.word_embeddings.weight")!;
    const dim = emb.shape[1], mask = VOCAB.indexOf("[MASK]");
    emb.data.fill(1e38, mask * dim, (mask + 1) * dim);
    await writeSafetensorsFile(path, tensors);
    const ck = join(dir, "ck");
    await assert.rejects(
      trainInProcess([
        ...run.dataFlags,
        "--lr",
        "1e3",
        "--eval_steps",
        "1",
        "--checkpoint_dir",
        ck,
      ]),
      (err: Error) => {
        assert.ok(err instanceof RunError);
        assert.equal(
          err.message,
          'Refusing to save non-finite weights ("distilbert.embeddings.word_embeddings.weight")',
        );
        return true;
      },
    );
    assert.deepEqual(await listCheckpoints(ck), [], "no checkpoint was written");
  });
});

Deno.test("trainer: an unlabelled validation split is an input error", async () => {
  await withTempDir(async (dir) => {
    const run = await writeTinyRun(dir, { train: 4 });
    const test = join(dir, "test.tsv");
    await Deno.writeTextFile(test, "index\t#1 ID\t#2 ID\t#1 String\t#2 String\n0\t1\t2\tthe\ta\n");
    await assert.rejects(
      trainInProcess([
        ...[...run.dataFlags.slice(0, 4), "--validation_file", test],
        ...["--checkpoint_dir", join(dir, "ck")],
      ]),
      (err: Error) => {
        assert.ok(err instanceof InputError);
        assert.equal(err.message, "The validation split has no label on example 0");
        return true;
      },
    );
  });
});

Deno.test("evaluate: no tensor leaks across passes, and metrics match the labels", async () => {
  await withTempDir(async (dir) => {
    await initBackend("wasm");
    const run = await writeTinyRun(dir);
    const pairs = tinyPairs(11, 5);
    const examples = await encodeWith(run.model, pairs);
    const model = DistilBertClassifier.random(tinyConfig(), { seed: 9 });
    try {
      const first = await evaluate(model, examples, { batchSize: 4, padId: 0 });
      const before = tf.memory().numTensors;
      const second = await evaluate(model, examples, { batchSize: 4, padId: 0 });
      const third = await evaluate(model, examples, { batchSize: 11, padId: 0 });
      assert.equal(tf.memory().numTensors, before);
      assert.deepEqual(second, first, "evaluation is deterministic (dropout off)");
      assert.ok(Math.abs(third.loss - first.loss) < 1e-6, "batching does not change the loss");
      assert.equal(first.count, 11);
      assert.ok(first.accuracy >= 0 && first.accuracy <= 1 && Number.isFinite(first.loss));
    } finally {
      model.dispose();
    }
  });
});
