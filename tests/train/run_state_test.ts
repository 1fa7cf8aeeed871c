/**
 * Early stopping counts evaluations without improvement and starts again at 0 on every
 * improvement (HF's `EarlyStoppingCallback`), so a run that keeps improving now and then is never
 * stopped by `--early_stopping_patience`; and the flag does stop a run that stops improving.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { planRun, RunState } from "../../train/mod.ts";
import { runMain, tinyConfig, withTempDir } from "../_helpers.ts";
import { trainConfig, writeTinyRun } from "./_train_helpers.ts";

async function plan() {
  const config = await trainConfig(["--batch_size", "4", "--epochs", "1"]);
  return planRun(config, { trainExamples: 40, backend: "wasm", model: tinyConfig() });
}

function evalWith(state: RunState, p: Awaited<ReturnType<typeof plan>>, accuracy: number) {
  state.step++;
  return state.recordEval(p, { loss: 1 - accuracy, accuracy, f1: accuracy, count: 10 }, {
    metric: "accuracy",
    checkpoint: `checkpoint-${state.step}`,
  });
}

Deno.test("early stopping: the counter goes 0, 1, 0, 1 over better, worse, better, worse", async () => {
  const p = await plan();
  const state = RunState.fresh();
  const counts: number[] = [];
  for (const accuracy of [0.5, 0.4, 0.6, 0.55]) {
    evalWith(state, p, accuracy);
    counts.push(state.evalsWithoutImprovement);
  }
  assert.deepEqual(counts, [0, 1, 0, 1]);
  assert.equal(state.bestMetric, 0.6);
});

Deno.test("early stopping: patience 2 never stops a run that improves late, then stops", async () => {
  const p = await plan();
  const state = RunState.fresh();
  const stopped: boolean[] = [];
  for (const accuracy of [0.5, 0.4, 0.6, 0.5, 0.7, 0.6, 0.65]) {
    evalWith(state, p, accuracy);
    stopped.push(state.earlyStopped(2));
  }
  assert.deepEqual(stopped, [false, false, false, false, false, false, true]);
  assert.equal(state.earlyStopped(0), false, "patience 0 is off");
});

Deno.test("early stopping: --early_stopping_patience 1 ends a run whose metric stops improving", async () => {
  await withTempDir(async (dir) => {
    const run = await writeTinyRun(dir, { train: 16, validation: 8 });
    const ck = join(dir, "ck");
    // A learning rate too small to change any prediction: the second evaluation is no better.
    const r = await runMain([
      "train",
      ...run.dataFlags,
      ...["--checkpoint_dir", ck, "--backend", "wasm", "--batch_size", "4", "--epochs", "3"],
      ...["--lr", "1e-12", "--eval_steps", "2", "--early_stopping_patience", "1"],
    ], { env: { HF_HUB_OFFLINE: "1" } });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /^Early stopping: 1 evaluations without a better accuracy$/m);
    const evals = r.stderr.match(/^eval step \d+/gm) ?? [];
    assert.deepEqual(evals, ["eval step 2", "eval step 4"], "stopped after the second evaluation");
  });
});
