/**
 * The processes that take run locks, sweep the demo's temporary folders or check a tuning
 * worker's liveness are granted `--allow-run`: without it Deno refuses `kill(pid, 0)` and every
 * process counts as alive (core/process.ts), so a stale lock or folder would never be taken over.
 */
import assert from "node:assert/strict";
// Private: how tune starts its trials.
import { selfCommand } from "../../cli/_self.ts";

Deno.test("permissions: train, demo, tune, the binary and tune's trials may tell live processes from dead", async () => {
  const tasks = JSON.parse(
    await Deno.readTextFile(new URL("../../deno.json", import.meta.url)),
  ).tasks as Record<string, string>;
  for (const name of ["train", "demo", "tune", "compile"]) {
    assert.match(tasks[name], /--allow-run\b/, `deno task ${name} lacks --allow-run`);
  }
  assert.ok(selfCommand().args.includes("--allow-run"), "tune's trials lack --allow-run");
});
