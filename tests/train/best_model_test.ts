/**
 * The model a run leaves in its checkpoint dir is the best evaluation's checkpoint, byte for
 * byte: the checkpoint whose evaluation had the best `--metric_for_best_model` (the first of
 * equals, as the HF Trainer keeps it), which is not the last one here.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { runMain, withTempDir } from "../_helpers.ts";
import { readJson, writeTinyRun } from "./_train_helpers.ts";
import { bytesEqual, ENV, TOTAL_STEPS, trainArgs } from "./_resume.ts";

Deno.test("best model: the exported model is the best evaluation's checkpoint, byte for byte", async () => {
  await withTempDir(async (dir) => {
    const run = await writeTinyRun(dir, { train: 48, validation: 16 });
    const ck = join(dir, "ck");
    // Every checkpoint kept, so that each evaluation's weights can be compared.
    const r = await runMain(trainArgs(run, ck, ["--save_total_limit", "0"]), { env: ENV });
    assert.equal(r.code, 0, r.stderr);
    const state = await readJson(join(ck, `checkpoint-${TOTAL_STEPS}`, "trainer_state.json"));
    const evals = (state.log_history as Record<string, number>[])
      .filter((row) => "eval/loss" in row);
    assert.equal(evals.length, TOTAL_STEPS / 2);
    // --metric_for_best_model loss: the lowest eval loss, the first of equals.
    const best = evals.reduce((a, b) => (b["eval/loss"] < a["eval/loss"] ? b : a));
    assert.ok(best.step < TOTAL_STEPS, `the best is not the last evaluation (${best.step})`);
    assert.match(String(state.best_model_checkpoint), new RegExp(`checkpoint-${best.step}$`));
    assert.equal(state.best_metric, best["eval/loss"]);
    const exported = await Deno.readFile(join(ck, "model.safetensors"));
    const bestCk = join(ck, `checkpoint-${best.step}`);
    assert.ok(bytesEqual(exported, await Deno.readFile(join(bestCk, "model.safetensors"))));
    const last = await Deno.readFile(join(ck, `checkpoint-${TOTAL_STEPS}`, "model.safetensors"));
    assert.ok(!bytesEqual(exported, last), "not the last checkpoint's weights");
    const results = await readJson(join(ck, "eval_results.json"));
    assert.equal(results.eval_loss, best["eval/loss"]);
    assert.equal(results.step, best.step);
  });
});
