/**
 * Nothing is lost when a worker dies: a grid study whose worker is kill -9'd at random moments,
 * again and again, ends with exactly its points finished, each killed trial FAIL in Optuna's retry
 * form (readable by Python Optuna) and resumed by its retry from its last checkpoint, and every
 * final model byte for byte the uninterrupted study's. With two workers, the one left picks up the
 * trial of the one whose process group was killed.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { createRng } from "../../core/mod.ts";
import { type Trial, trialDir, TrialState, WORKER_DIED_ATTR } from "../../tune/mod.ts";
import {
  needsPython,
  REPO_ROOT,
  runMain,
  stepsIntoTrial,
  SYSTEM_PYTHON,
  TEST_ENV,
  waitFor,
  withTempDir,
} from "../_helpers.ts";
import { journalTrials } from "../tune/_study.ts";

/** A grid of four learning rates; 100 steps a trial, a checkpoint every 10, a line every 5. */
function studyArgs(checkpointDir: string): string[] {
  return [
    ...["tune", "--demo", "--sampler", "grid", "--lr_grid", "1e-3:8e-3:2", "--keep_trials"],
    ...["--checkpoint_dir", checkpointDir, "--max_train_samples", "400", "--epochs", "2"],
    ...["--batch_size", "8", "--eval_steps", "10", "--logging_steps", "5"],
    ...["--max_eval_samples", "40", "--wandb_mode", "offline"],
    // Many kills may hit one trial: no bound here (the bound has its own test in study_test).
    ...["--max_worker_retries", "100"],
  ];
}

const ENV = { ...TEST_ENV, HF_HUB_OFFLINE: "1" };

/** A running CLI process whose stderr is collected as it comes. */
function start(args: string[], options: { setsid?: boolean } = {}) {
  const [command, pre] = options.setsid
    ? ["setsid", [Deno.execPath()]]
    : [Deno.execPath(), [] as string[]];
  const child = new Deno.Command(command, {
    args: [...pre, "run", "-A", join(REPO_ROOT, "main.ts"), ...args],
    cwd: REPO_ROOT,
    env: ENV,
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const run = { child, stderr: "", exited: false, status: child.status };
  run.status.finally(() => run.exited = true);
  (async () => {
    for await (const text of child.stderr.pipeThrough(new TextDecoderStream())) run.stderr += text;
  })();
  return run;
}

async function studyTrials(checkpointDir: string): Promise<Trial[]> {
  return await journalTrials(join(checkpointDir, "mrpc-tune", "journal.log"), "mrpc-tune");
}

/** Each grid point's final model: lr → model.safetensors of its COMPLETE trial. */
async function modelsByLr(checkpointDir: string): Promise<Map<number, Uint8Array>> {
  const out = new Map<number, Uint8Array>();
  for (const t of await studyTrials(checkpointDir)) {
    if (t.state !== TrialState.COMPLETE) continue;
    const dir = trialDir(join(checkpointDir, "mrpc-tune"), t);
    out.set(t.params.lr as number, await Deno.readFile(join(dir, "model.safetensors")));
  }
  return out;
}

function bytesEqual(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  return !!a && !!b && a.length === b.length && a.every((x, i) => x === b[i]);
}

/** Checks what a crashed study must look like in the end (see the module docs). */
async function assertWhole(crashed: string, reference: Map<number, Uint8Array>, seed: number) {
  const trials = await studyTrials(crashed);
  const complete = trials.filter((t) => t.state === TrialState.COMPLETE);
  assert.deepEqual(
    complete.map((t) => t.params.lr).sort(),
    [1e-3, 2e-3, 4e-3, 8e-3],
    `exactly the four points finished, once each (seed ${seed})`,
  );
  for (const t of trials.filter((t) => t.state === TrialState.FAIL)) {
    assert.equal(t.systemAttrs[WORKER_DIED_ATTR], true, `trial ${t.number}: a worker death`);
    const retry = trials.find((o) =>
      ((o.systemAttrs.retry_history as number[] | undefined) ?? []).includes(t.number)
    );
    assert.ok(retry, `trial ${t.number} was retried`);
    assert.equal(retry.params.lr, t.params.lr);
    assert.equal(retry.systemAttrs.failed_trial, t.systemAttrs.failed_trial ?? t.number);
  }
  const models = await modelsByLr(crashed);
  for (const [lr, model] of reference) {
    assert.ok(
      bytesEqual(models.get(lr), model),
      `lr ${lr}: the uninterrupted model (seed ${seed})`,
    );
  }
  // Each point's W&B record (offline) holds every logged step once.
  for (const t of complete) {
    const dir = trialDir(join(crashed, "mrpc-tune"), t);
    const state = JSON.parse(await Deno.readTextFile(join(dir, "trainer_state.json")));
    const lines = (await Deno.readTextFile(join(dir, "runs", state.run_id, "metrics.jsonl")))
      .trim().split("\n").map((l) => JSON.parse(l)._step as number);
    assert.deepEqual(lines, [...new Set(lines)].sort((a, b) => a - b), `trial ${t.number}: rows`);
    assert.equal(lines.at(-1), 100, `trial ${t.number}: up to the last step`);
  }
}

Deno.test("tune crash: kill -9 at random moments, 10 times and more: N trials, nothing lost", async () => {
  await withTempDir(async (dir) => {
    const reference = join(dir, "reference");
    const plain = await runMain(studyArgs(reference), { env: ENV });
    assert.equal(plain.code, 0, plain.stderr);
    const expected = await modelsByLr(reference);
    assert.equal(expected.size, 4);

    // A new seed each run (set MRPC_TUNE_TEST_SEED to replay one); failures name it.
    const seed = Number(Deno.env.get("MRPC_TUNE_TEST_SEED") ?? Date.now() % 1_000_000);
    const rng = createRng(seed);
    const crashed = join(dir, "crashed");
    const moments: number[] = [];
    for (let round = 0; round < 30 && moments.length < 12; round++) {
      // Kill after a random number of progress lines (0 to 7, a line each 5 steps) into the
      // trial that runs: before its first checkpoint, between two, or while one is written.
      const at = Math.floor(rng() * 8);
      const run = start(studyArgs(crashed));
      await waitFor(
        () => run.exited || (stepsIntoTrial(run.stderr) ?? -1) >= at,
        "the moment to kill the worker",
        { everyMs: 5 },
      );
      if (run.exited) {
        assert.equal((await run.status).code, 0, run.stderr);
        break;
      }
      run.child.kill("SIGKILL");
      await run.status;
      moments.push(at);
    }
    assert.ok(moments.length >= 10, `killed ${moments.length} times (seed ${seed}): ${moments}`);
    const last = await runMain(studyArgs(crashed), { env: ENV });
    assert.equal(last.code, 0, last.stderr);
    await assertWhole(crashed, expected, seed);

    if (needsPython(["optuna"], "tune crash: Python reads the retries")) return;
    const script = `import json, optuna
from optuna.storages import JournalStorage, JournalFileStorage
s = optuna.load_study(study_name="mrpc-tune", storage=JournalStorage(JournalFileStorage(${
      JSON.stringify(join(crashed, "mrpc-tune", "journal.log"))
    })))
print(json.dumps([[t.number, t.state.name, t.system_attrs.get("failed_trial"),
  t.system_attrs.get("retry_history")] for t in s.trials]))`;
    const py = await new Deno.Command(SYSTEM_PYTHON, {
      args: ["-c", script],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.ok(py.success, new TextDecoder().decode(py.stderr));
    const seen = JSON.parse(new TextDecoder().decode(py.stdout)) as [
      number,
      string,
      unknown,
      unknown,
    ][];
    const ours = await studyTrials(crashed);
    assert.deepEqual(
      seen,
      ours.map((t) => [
        t.number,
        ["RUNNING", "COMPLETE", "PRUNED", "FAIL", "WAITING"][t.state],
        t.systemAttrs.failed_trial ?? null,
        t.systemAttrs.retry_history ?? null,
      ]),
    );
  });
});

Deno.test({
  name: "tune crash: two workers; one's process group is killed, the other resumes its trial",
  ignore: (() => {
    try {
      new Deno.Command("setsid", { args: ["--version"], stdout: "null", stderr: "null" })
        .outputSync();
      return false;
    } catch {
      console.log('SKIP "tune crash: two workers": setsid (util-linux) is not installed');
      return true;
    }
  })(),
  fn: async () => {
    await withTempDir(async (dir) => {
      const reference = join(dir, "reference");
      const plain = await runMain(studyArgs(reference), { env: ENV });
      assert.equal(plain.code, 0, plain.stderr);
      const expected = await modelsByLr(reference);
      const shared = join(dir, "shared");
      const beat = ["--heartbeat_interval", "1", "--grace_period", "5"];
      // Worker A in its own process group (as a container is), worker B beside it.
      const a = start([...studyArgs(shared), ...beat], { setsid: true });
      await waitFor(() => a.exited || /^Trial 0 started/m.test(a.stderr), "worker A's trial");
      const b = start([...studyArgs(shared), ...beat]);
      // Kill A's whole group once its trial has saved a checkpoint (10 steps in).
      await waitFor(
        () => a.exited || (stepsIntoTrial(a.stderr) ?? 0) >= 3,
        "worker A's first checkpoint",
        { everyMs: 5 },
      );
      assert.ok(!a.exited, a.stderr);
      const group = await new Deno.Command("kill", {
        args: ["-KILL", "--", `-${a.child.pid}`],
      }).output();
      assert.ok(group.success, "the process group was killed");
      await a.status;
      const ended = await b.status;
      assert.equal(ended.code, 0, b.stderr);
      assert.match(
        b.stderr,
        /^Trial 0: (its worker process ended without finishing it|no heartbeat for \d+ s \(stale\)); marking it FAIL, and trial \d+ resumes it from its last checkpoint$/m,
      );
      assert.match(b.stderr, /^Trial \d+ started: lr=1\.00e-3 \(resuming trial 0 from /m);
      await assertWhole(shared, expected, 0);
    });
  },
});
