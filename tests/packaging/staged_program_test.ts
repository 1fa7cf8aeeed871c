/**
 * The module graph `deno task compile` embeds is complete: the program staged with only that
 * graph, its includes and its npm packages (scripts/stage_program.ts) runs from a folder without
 * the sources — `--version` with the commit, a demo run whose W&B upload Worker loads (against
 * the loopback W&B server), a tuning trial (the program starting itself again), a report.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { stageProgram } from "../../scripts/stage_program.ts";
import { TEST_ENV, withTempDir } from "../_helpers.ts";
import { startWandbServer } from "../tracking/_wandb_server.ts";

const KEY = "wandb-canary-staged-0123456789";

Deno.test("staged program: runs every kind of command from a folder without the sources", async () => {
  await withTempDir(async (dir) => {
    const launcher = await stageProgram(join(dir, "stage"));
    const work = join(dir, "work");
    await Deno.mkdir(work);
    const run = async (args: string[], env: Record<string, string> = {}) => {
      const out = await new Deno.Command(launcher, {
        args,
        cwd: work,
        env: { ...TEST_ENV, HF_HUB_OFFLINE: "1", ...env },
        stdout: "piped",
        stderr: "piped",
      }).output();
      const dec = new TextDecoder();
      return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
    };
    const version = await run(["--version"]);
    assert.equal(version.code, 0, version.stderr);
    assert.match(version.stdout, /^mrpc-tune \d+\.\d+\.\d+ \(commit ([0-9a-f]{40}|unknown); Deno /);
    const server = startWandbServer(KEY);
    try {
      const demo = await run(
        ["demo", "--max_steps", "20", "--max_eval_samples", "40", "--logging_steps", "5"],
        {
          WANDB_MODE: "online",
          WANDB_API_KEY: KEY,
          WANDB_BASE_URL: server.baseUrl,
          NETRC: join(dir, "none"),
        },
      );
      assert.equal(demo.code, 0, demo.stderr);
      // The SIMD kernels' binary (a compile --include) is staged: they load from it.
      assert.match(demo.stderr, /^Backend: wasm .*\+ mrpc-tune wasm SIMD kernels/m);
      const [remote] = [...server.runs.values()];
      assert.ok(remote && remote.history.length > 0, "the upload Worker ran from the staged graph");
      assert.equal(remote.exitCode, 0);
    } finally {
      await server.close();
    }
    await Deno.stat(join(work, "models-demo", "model.safetensors"));
    const tune = await run([
      "tune",
      "--demo",
      "--n_trials",
      "1",
      "--checkpoint_dir",
      "t",
      "--max_train_samples",
      "40",
      "--epochs",
      "1",
      "--max_eval_samples",
      "20",
    ]);
    assert.equal(tune.code, 0, tune.stderr);
    assert.match(tune.stdout, /1 trials \(1 COMPLETE\)/);
    const report = await run(["report", "--run", "models-demo"]);
    assert.equal(report.code, 0, report.stderr);
    // Nothing of the sources was needed: the folder it ran in holds only its own outputs.
    assert.deepEqual((await Array.fromAsync(Deno.readDir(work))).map((e) => e.name).sort(), [
      "models-demo",
      "t",
    ]);
  });
});
