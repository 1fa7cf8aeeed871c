import assert from "node:assert/strict";
import { join } from "node:path";
import {
  readHistory,
  RECORD_FILES,
  resolveWandbSettings,
  type RunMeta,
  RunRecord,
  RunTracker,
} from "../../tracking/mod.ts";
import { waitFor, withTempDir } from "../_helpers.ts";
import { startWandbServer } from "./_wandb_server.ts";

const META: RunMeta = {
  program: "mrpc-tune",
  version: "0.0.0",
  commit: "abc",
  deno: "2",
  tfjs: "4",
  backend: "wasm",
  gpu: false,
  host: "h",
  command: "train",
  started: "2026-12-01T00:00:00.000Z",
  ended: null,
  exit_code: null,
};

Deno.test("run record: one line per step, a second log at a step merges into its line", async () => {
  await withTempDir(async (dir) => {
    const record = await RunRecord.open(dir, "r1", { config: { lr: 1 }, meta: META });
    assert.equal(await record.log(1, { "train/loss": 0.9 }), 0);
    assert.equal(await record.log(2, { "train/loss": 0.8 }), 1);
    assert.equal(await record.log(2, { "eval/accuracy": 0.5 }), 1, "same step, same line");
    await assert.rejects(record.log(1, { x: 1 }), /Cannot log step 1 after step 2/);
    const rows = await readHistory(join(dir, "r1"));
    assert.deepEqual(rows.map((r) => [r._step, r["train/loss"], r["eval/accuracy"]]), [
      [1, 0.9, undefined],
      [2, 0.8, 0.5],
    ]);
    for (const r of rows) assert.ok(r._runtime >= 0 && r._timestamp > 1.7e9);
    assert.deepEqual(JSON.parse(await Deno.readTextFile(join(dir, "r1", RECORD_FILES.config))), {
      lr: 1,
    });
    await record.end(0);
    const meta = JSON.parse(await Deno.readTextFile(join(dir, "r1", RECORD_FILES.meta)));
    assert.equal(meta.exit_code, 0);
    assert.ok(Date.parse(meta.ended) > 0);
  });
});

Deno.test("run record: a torn last line is dropped, a resumed run drops the steps it redoes", async () => {
  await withTempDir(async (dir) => {
    const record = await RunRecord.open(dir, "r2", { config: {}, meta: META });
    for (const step of [1, 2, 3, 4]) await record.log(step, { "train/loss": 1 / step });
    const path = join(dir, "r2", RECORD_FILES.metrics);
    await Deno.writeTextFile(path, '{"_step": 5, "train/lo', { append: true }); // killed mid-line
    assert.deepEqual((await readHistory(join(dir, "r2"))).map((r) => r._step), [1, 2, 3, 4]);
    await Deno.writeTextFile(path, '{"broken\n{"_step": 9}\n', { append: true });
    await assert.rejects(readHistory(join(dir, "r2")), /Broken run record line 5/);
    await Deno.writeTextFile(
      path,
      (await Deno.readTextFile(path)).split("\n").slice(0, 4).join("\n") + "\n",
    );
    const resumed = await RunRecord.open(dir, "r2", {
      config: {},
      meta: { ...META, started: "2027-01-01T00:00:00.000Z" },
      resumeStep: 2,
    });
    assert.deepEqual(resumed.rows.map((r) => r._step), [1, 2]);
    assert.equal(await resumed.log(3, { "train/loss": 0.3 }), 2, "step 3 again at offset 2");
    const meta = JSON.parse(await Deno.readTextFile(join(dir, "r2", RECORD_FILES.meta)));
    assert.equal(meta.started, META.started, "the first start is kept");
  });
});

Deno.test("tracker: a line rewritten after its upload counts as not uploaded until sent again", async () => {
  await withTempDir(async (dir) => {
    const KEY = "wandb-canary-rewrite-0123456789";
    const server = startWandbServer(KEY);
    try {
      const settings = resolveWandbSettings({ mode: "online" }, {
        WANDB_API_KEY: KEY,
        WANDB_BASE_URL: server.baseUrl,
      }, { netrc: null });
      const tracker = await RunTracker.start({
        runsDir: join(dir, "runs"),
        runId: "rw1",
        config: {},
        meta: META,
        settings,
        intervalMs: 20,
        log: () => {},
      });
      await tracker.log(1, { "train/loss": 0.7 });
      const state = () => JSON.parse(Deno.readTextFileSync(join(dir, "runs", "rw1", "wandb.json")));
      await waitFor(() => state().uploadedLines >= 1, "the first line's acknowledgement");
      assert.equal(state().uploadedLines, 1, "the first line was acknowledged");
      await tracker.log(1, { "eval/accuracy": 0.8 }); // merges into the uploaded line
      await new Promise((r) => setTimeout(r, 0));
      assert.equal(tracker.wandb.uploadedLines, 0, "a kill now leaves it for sync to send again");
      await tracker.finish(0);
      const line = JSON.parse(server.run("rw1")!.history[0]);
      assert.equal(line["eval/accuracy"], 0.8, "the server has the merged line");
      assert.equal(tracker.wandb.uploadedLines, 1);
    } finally {
      await server.close();
    }
  });
});
