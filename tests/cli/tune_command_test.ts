/**
 * `tune` end to end on the offline demo model (seconds per trial): a TPE study that finishes, is
 * interrupted and resumes, keeps its best model for `predict`, and that Python Optuna opens; the
 * exponential grid; the median pruner on a study built to prune; a killed worker's trial failed
 * and retried; bad input as one line.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { Direction, floatDist, JournalFile, RandomSampler, TrialState } from "../../tune/mod.ts";
import {
  assertUsageError,
  needsPython,
  runMain,
  SYSTEM_PYTHON,
  waitFor,
  withTempDir,
} from "../_helpers.ts";
import { runAndSignal } from "../train/_resume.ts";
import { journalTrials, makeStudy } from "../tune/_study.ts";

/** A demo trial in a few seconds: 400 pairs, 2 epochs of 8 (100 steps), 100 validation pairs. */
const QUICK = [
  "--max_train_samples",
  "400",
  "--epochs",
  "2",
  "--max_eval_samples",
  "100",
  "--eval_steps",
  "50",
];

const trialsOf = (path: string, name = "mrpc-tune") => journalTrials(path, name);

Deno.test("tune --demo --sampler tpe --n_trials 4: interrupted, resumed, best/ kept, Python opens it", async () => {
  await withTempDir(async (dir) => {
    // Scored by eval loss (minimized), which differs between trials even on these short runs.
    const args = [
      "tune",
      "--demo",
      "--sampler",
      "tpe",
      "--objective",
      "loss",
      "--n_trials",
      "4",
      "--checkpoint_dir",
      dir,
      ...QUICK,
    ];
    // Ctrl-C while trial 1 trains: it saves a checkpoint, the worker exits 130.
    const first = await runAndSignal(args, (e) => /Trial 1 started[\s\S]*epoch \d/.test(e), {
      signals: ["SIGINT"],
    });
    assert.equal(first.status.code, 130, first.stderr);
    assert.match(
      first.stderr,
      /SIGINT: the running trial saves a checkpoint and no new trial starts/,
    );
    assert.match(first.stderr, /Trial 1 interrupted \(it resumes from its checkpoint/);
    const studyDir = join(dir, "mrpc-tune");
    const journal = join(studyDir, "journal.log");
    let trials = await trialsOf(journal);
    assert.deepEqual(trials.map((t) => t.state), [
      TrialState.COMPLETE,
      TrialState.FAIL,
      TrialState.WAITING,
    ]);
    // Run again: the interrupted trial resumes from its checkpoint, then the study completes.
    const second = await runMain(args);
    assert.equal(second.code, 0, second.stderr);
    assert.match(
      second.stderr,
      /Trial 2 started: lr=[\d.e-]+ \(resuming trial 1 from "[^"]*trial-1[/\\]checkpoint-\d+"\)/,
    );
    assert.match(second.stderr, /Resuming from "[^"]*trial-1[/\\]checkpoint-\d+" at step \d+/);
    trials = await trialsOf(journal);
    assert.deepEqual(trials.map((t) => t.state), [1, 3, 1, 1, 1]);
    assert.equal(trials[2].params.lr, trials[1].params.lr);
    // Every trial's lr lies in the demo's range, log-scale.
    for (const t of trials) {
      assert.ok((t.params.lr as number) >= 5e-4 && (t.params.lr as number) <= 3e-3);
    }
    // The summary names the best trial; best/ holds its model.
    const summary = JSON.parse(await Deno.readTextFile(join(studyDir, "study_summary.json")));
    const best = trials.filter((t) =>
      t.state === TrialState.COMPLETE
    ).sort((a, b) => a.values![0] - b.values![0])[0];
    assert.equal(summary.best_trial.number, best.number);
    assert.equal(summary.best_trial.value, best.values![0]);
    assert.deepEqual(summary.states, { RUNNING: 0, COMPLETE: 4, PRUNED: 0, FAIL: 1, WAITING: 0 });
    assert.match(
      second.stdout,
      new RegExp(`Best trial ${best.number}: loss ${best.values![0].toFixed(4)}`),
    );
    assert.equal(summary.importances[0].name, "lr");
    const bestDir = join(studyDir, "best");
    const meta = JSON.parse(await Deno.readTextFile(join(bestDir, "trial.json")));
    assert.equal(meta.number, best.number);
    // Other trials' weights are gone; best/ predicts.
    for (const t of trials) {
      const files = await Array.fromAsync(
        Deno.readDir(join(studyDir, "trials", `trial-${t.number}`)),
      ).catch(() => []);
      assert.ok(
        !files.some((f) =>
          f.name === "model.safetensors" || f.name.startsWith("checkpoint-")
        ),
        `trial ${t.number} weights removed`,
      );
    }
    const tsv = join(dir, "pairs.tsv");
    await Deno.writeTextFile(
      tsv,
      "Quality\t#1 ID\t#2 ID\t#1 String\t#2 String\n1\t1\t2\tthe mayor signed the reform .\tthe reform was signed by the mayor .\n",
    );
    const predicted = await runMain(["predict", "--model", bestDir, "--input", tsv]);
    assert.equal(predicted.code, 0, predicted.stderr);
    assert.match(predicted.stdout, /"label":/);
    if (needsPython(["optuna", "sklearn"], "tune: Python Optuna opens the study")) {
      return;
    }
    const py = await new Deno.Command(SYSTEM_PYTHON, {
      args: [
        "-c",
        `import optuna
from optuna.storages import JournalStorage, JournalFileStorage
s = optuna.load_study(study_name="mrpc-tune", storage=JournalStorage(JournalFileStorage(${
          JSON.stringify(journal)
        })))
imp = optuna.importance.get_param_importances(s)
print(s.best_trial.number, s.best_value, len(s.trials), ",".join(imp))`,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.ok(py.success, new TextDecoder().decode(py.stderr));
    const [number, value, count, ranked] = new TextDecoder().decode(py.stdout).trim().split(" ");
    assert.equal(Number(number), best.number);
    assert.equal(Number(value), best.values![0]);
    assert.equal(Number(count), 5);
    // Python's importances name the same searched parameters, in the summary's order.
    assert.deepEqual(ranked.split(","), summary.importances.map((i: { name: string }) => i.name));
  });
});

Deno.test("tune --sampler grid --lr_grid 1e-5:1e-4:2 runs its four points once and ends", async () => {
  await withTempDir(async (dir) => {
    const r = await runMain([
      "tune",
      "--demo",
      "--sampler",
      "grid",
      "--lr_grid",
      "1e-5:1e-4:2",
      "--n_trials",
      "10",
      "--checkpoint_dir",
      dir,
      "--study_name",
      "grid",
      "--max_train_samples",
      "80",
      "--epochs",
      "1",
      "--max_eval_samples",
      "40",
      "--wandb_mode",
      "offline",
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /Grid of 4 points over lr/);
    const trials = await trialsOf(join(dir, "grid", "journal.log"), "grid");
    assert.deepEqual(trials.map((t) => t.params.lr), [1e-5, 2e-5, 4e-5, 8e-5]);
    assert.ok(trials.every((t) => t.state === TrialState.COMPLETE));
    // W&B (offline records): one run per trial in the study's group, and the study's own run
    // with one history row per trial.
    const records = async (runs: string) =>
      await Promise.all((await Array.fromAsync(Deno.readDir(runs))).map(async (e) => ({
        config: JSON.parse(await Deno.readTextFile(join(runs, e.name, "config.json"))),
        wandb: JSON.parse(await Deno.readTextFile(join(runs, e.name, "wandb.json"))),
        rows: (await Deno.readTextFile(join(runs, e.name, "metrics.jsonl"))).trim().split("\n")
          .filter((l) => l !== "").map((l) => JSON.parse(l)),
      })));
    for (const t of trials) {
      const [trial] = await records(join(dir, "grid", "trials", `trial-${t.number}`, "runs"));
      assert.equal(trial.config.trial_number, t.number);
      assert.equal(trial.config.lr, t.params.lr);
      assert.deepEqual([trial.wandb.group, trial.wandb.jobType], ["grid", "trial"]);
    }
    // The study's report next to its summary, and each trial's run report in its record.
    assert.match(r.stderr, /Report: .*grid[/\\]report\.html/);
    assert.match(await Deno.readTextFile(join(dir, "grid", "report.html")), /<h1>Study grid<\/h1>/);
    for (const t of trials) {
      const runs = join(dir, "grid", "trials", `trial-${t.number}`, "runs");
      const [id] = (await Array.fromAsync(Deno.readDir(runs))).map((e) => e.name);
      assert.match(await Deno.readTextFile(join(runs, id, "report.html")), /<h1>Run grid-trial-/);
    }
    const [studyRun] = await records(join(dir, "grid", "runs"));
    assert.deepEqual([studyRun.wandb.group, studyRun.wandb.jobType], ["grid", "study"]);
    assert.equal(studyRun.config.sampler, "grid");
    assert.deepEqual(
      studyRun.rows.map((row) => [row["trial/number"], row["trial/lr"]]),
      trials.map((t) => [t.number, t.params.lr]),
    );
  });
});

Deno.test("tune --sampler grid: a rerun runs exactly the missing points, or says the grid is complete", async () => {
  await withTempDir(async (dir) => {
    const journal = join(dir, "g", "journal.log");
    const grid = (spec: string) => [
      ...["tune", "--demo", "--sampler", "grid", "--lr_grid", spec, "--study_name", "g"],
      ...["--checkpoint_dir", dir, "--max_train_samples", "40", "--epochs", "1"],
      ...["--max_eval_samples", "20", "--batch_size", "8"],
    ];
    // A float range has no grid: refused before the study (or its journal) exists.
    const space = join(dir, "space.json");
    await Deno.writeTextFile(
      space,
      JSON.stringify({ lr: { type: "float", low: 1e-4, high: 1e-2 } }),
    );
    assertUsageError(
      await runMain([
        "tune",
        "--demo",
        "--sampler",
        "grid",
        "--study_name",
        "g",
        "--checkpoint_dir",
        dir,
        "--search_space",
        space,
      ]),
      /^error: Cannot make a grid over "lr": a float range has no grid/,
    );
    assert.equal(await Deno.stat(join(dir, "g")).then(() => true, () => false), false, "no study");
    const first = await runMain(grid("1e-3:4e-3:2"));
    assert.equal(first.code, 0, first.stderr);
    assert.deepEqual((await trialsOf(journal, "g")).map((t) => t.params.lr), [1e-3, 2e-3, 4e-3]);
    // The same grid again: nothing to run, said in one line.
    const same = await runMain(grid("1e-3:4e-3:2"));
    assert.equal(same.code, 0, same.stderr);
    assert.match(same.stderr, /^Grid of 3 points over lr is complete: nothing to run$/m);
    assert.doesNotMatch(same.stderr, /Trial \d+ started/);
    assert.equal((await trialsOf(journal, "g")).length, 3);
    // A wider grid: exactly its new point runs.
    const wider = await runMain(grid("1e-3:8e-3:2"));
    assert.equal(wider.code, 0, wider.stderr);
    assert.match(wider.stderr, /^Grid of 4 points over lr: 1 not run yet, queued$/m);
    const trials = await trialsOf(journal, "g");
    assert.deepEqual(trials.map((t) => t.params.lr), [1e-3, 2e-3, 4e-3, 8e-3]);
    assert.ok(trials.every((t) => t.state === TrialState.COMPLETE));
  });
});

Deno.test("tune --demo: at both ends of its lr range the trials learn (not the majority baseline)", async () => {
  await withTempDir(async (dir) => {
    // The demo's defaults, only the grid chosen: the lowest and the highest rate it searches.
    const r = await runMain([
      ...["tune", "--demo", "--sampler", "grid", "--lr_grid", "5e-4:3e-3:6"],
      ...["--checkpoint_dir", dir, "--study_name", "ends"],
    ]);
    assert.equal(r.code, 0, r.stderr);
    const trials = await trialsOf(join(dir, "ends", "journal.log"), "ends");
    assert.deepEqual(trials.map((t) => t.params.lr), [5e-4, 3e-3]);
    for (const t of trials) {
      // The validation split's majority baseline is 0.715: these learned the task.
      assert.ok(t.values![0] > 0.8, `lr ${t.params.lr}: accuracy ${t.values![0]}`);
    }
  });
});

Deno.test("tune --pruner median: trials below the median of finished ones are pruned", async () => {
  await withTempDir(async (dir) => {
    // Five finished trials that reached accuracy 1.0 at every evaluation step of the demo run.
    const journal = join(dir, "mrpc-tune", "journal.log");
    const prior = await makeStudy(new RandomSampler({ seed: 0 }), {
      backend: await new JournalFile(journal).open(),
      name: "mrpc-tune",
      direction: Direction.MAXIMIZE,
      nTrials: 5,
    });
    await prior.optimize(async (t) => {
      await t.suggest("lr", floatDist(5e-4, 3e-3, { log: true }));
      for (const step of [5, 10]) await t.report(1, step);
      return 1;
    });
    const r = await runMain([
      "tune",
      "--demo",
      "--pruner",
      "median",
      "--n_trials",
      "7",
      "--checkpoint_dir",
      dir,
      "--max_train_samples",
      "80",
      "--epochs",
      "1",
      "--batch_size",
      "8",
      "--eval_steps",
      "5",
      "--max_eval_samples",
      "40",
    ]);
    assert.equal(r.code, 0, r.stderr);
    const trials = await trialsOf(journal);
    assert.deepEqual(trials.slice(5).map((t) => t.state), [TrialState.PRUNED, TrialState.PRUNED]);
    assert.deepEqual(trials.slice(5).map((t) => [...t.intermediateValues.keys()]), [[5], [5]]);
    assert.match(r.stderr, /Trial 5 PRUNED at step 5/);
    assert.match(r.stdout, /7 trials \(5 COMPLETE, 2 PRUNED\)/);
  });
});

Deno.test("tune: a killed worker's trial stops with it; the next run resumes it, uncounted", async () => {
  await withTempDir(async (dir) => {
    const args = ["tune", "--demo", "--n_trials", "1", "--checkpoint_dir", dir, ...QUICK];
    const killed = await runAndSignal(args, (e) => /Trial 0 started[\s\S]*epoch \d/.test(e), {
      signals: ["SIGKILL"],
    });
    assert.equal(killed.status.signal, "SIGKILL");
    // The trial process notices its worker is gone (its stdin closes) and exits.
    const trialDir = join(dir, "mrpc-tune", "trials", "trial-0");
    await waitFor(
      async () =>
        !(await new Deno.Command("pgrep", { args: ["-f", trialDir], stdout: "null" }).output())
          .success,
      "the trial process to end with its worker",
    );
    const journal = join(dir, "mrpc-tune", "journal.log");
    assert.deepEqual((await trialsOf(journal)).map((t) => t.state), [TrialState.RUNNING]);
    const again = await runMain(args);
    assert.equal(again.code, 0, again.stderr);
    assert.match(
      again.stderr,
      /Trial 0: its worker process ended without finishing it; marking it FAIL, and trial 1 resumes it from its last checkpoint/,
    );
    assert.doesNotMatch(again.stderr, /Retrying trial/, "no --retry_failed needed");
    const trials = await trialsOf(journal);
    assert.deepEqual(trials.map((t) => t.state), [TrialState.FAIL, TrialState.COMPLETE]);
    assert.equal(trials[1].params.lr, trials[0].params.lr);
    assert.deepEqual(trials[1].systemAttrs.retry_history, [0]);
    assert.equal(trials[1].systemAttrs.failed_trial, 0);
  });
});

Deno.test("tune: bad flags and files are one line, exit 2, and the study is untouched", async () => {
  await withTempDir(async (dir) => {
    const base = ["tune", "--demo", "--checkpoint_dir", dir];
    assertUsageError(
      await runMain([...base, "--lr_grid", "1e-5:1e-4:2"]),
      /--lr_grid needs --sampler grid/,
    );
    assertUsageError(
      await runMain([...base, "--sampler", "grid", "--lr_grid", "1e-4:1e-5:2"]),
      /Invalid value for --lr_grid: "1e-4:1e-5:2"/,
    );
    assertUsageError(
      await runMain([...base, "--fixed", "lr=fast"]),
      /Invalid value for --lr: "fast"/,
    );
    assertUsageError(
      await runMain([...base, "--fixed", "nonsense=1"]),
      /Invalid value for --fixed: "nonsense=1"/,
    );
    assertUsageError(
      await runMain([...base, "--resume", "auto"]),
      /Unknown flag --resume/,
    );
    assertUsageError(
      await runMain([...base, "--storage", "http://example.com/x"]),
      /Invalid --storage "http:\/\/example.com\/x"/,
    );
    assertUsageError(
      await runMain([...base, "--study_name", "a/b"]),
      /Invalid value for --study_name: "a\/b"/,
    );
    assertUsageError(
      await runMain([...base, "--search_space", join(dir, "missing.json")]),
      /--search_space.*missing\.json/,
    );
    const space = join(dir, "space.json");
    await Deno.writeTextFile(
      space,
      JSON.stringify({ lr: { type: "float", low: 1e-3, high: 1e-5 } }),
    );
    assertUsageError(
      await runMain([...base, "--search_space", space]),
      new RegExp(`Invalid --search_space "${space}": "lr"`),
    );
    // Each value a range can take must be one its train flag takes: refused before any trial.
    for (
      const [json, problem] of [
        [
          { lr: { type: "float", low: 0, high: 1e-4 } },
          /"lr" low 0 is out of range for --lr \(it must be > 0\)$/,
        ],
        [
          { batch_size: { type: "categorical", choices: [16, 0] } },
          /"batch_size" choice 0 is out of range for --batch_size \(it must be >= 1\)$/,
        ],
        [
          { batch_size: { type: "float", low: 8, high: 32 } },
          /"batch_size" is a float range, but --batch_size takes integers: use "type": "int"$/,
        ],
        [
          { lr_scheduler: { type: "categorical", choices: ["linear", "sawtooth"] } },
          /"lr_scheduler" choice "sawtooth" is not one of linear, cosine, .* \(--lr_scheduler\)$/,
        ],
      ] as const
    ) {
      await Deno.writeTextFile(space, JSON.stringify(json));
      assertUsageError(await runMain([...base, "--search_space", space]), problem);
    }
    await Deno.writeTextFile(space, JSON.stringify({ learning_rate: "default" }));
    assertUsageError(
      await runMain([...base, "--search_space", space]),
      /"learning_rate" is not a train flag/,
    );
    assertUsageError(
      await runMain([...base, "--fixed", "lr=1e-3"]),
      /Nothing to search: every parameter is fixed/,
    );
    // Nothing was created for any of them.
    assert.deepEqual((await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name).sort(), [
      "space.json",
    ]);
    // A study that exists with the other direction is refused, naming the flag.
    const r1 = await runMain([
      ...base,
      "--n_trials",
      "1",
      "--max_train_samples",
      "40",
      "--epochs",
      "1",
      "--max_eval_samples",
      "20",
    ]);
    assert.equal(r1.code, 0, r1.stderr);
    const before = await Deno.readTextFile(join(dir, "mrpc-tune", "journal.log"));
    assertUsageError(
      await runMain([...base, "--objective", "loss"]),
      /Study "mrpc-tune" exists with another direction \(expected minimize\)/,
    );
    assert.equal(await Deno.readTextFile(join(dir, "mrpc-tune", "journal.log")), before);
    // A finished trial whose value is not a number (written by hand, or by a broken tool) is
    // refused naming its line, before any trial runs; the journal is left as it was.
    const journal = join(dir, "mrpc-tune", "journal.log");
    const lines = before.trim().split("\n");
    const bad = `{"op_code": 6, "worker_id": "x", "trial_id": 0, "state": 1, "values": "high"}`;
    await Deno.writeTextFile(journal, [...lines, bad].join("\n") + "\n");
    assertUsageError(
      await runMain([...base, "--n_trials", "4"]),
      new RegExp(
        `^error: Invalid study journal "${journal}" line ${lines.length + 1}: field "values" ` +
          `"high" is not null or a list of numbers$`,
      ),
    );
    assert.equal(await Deno.readTextFile(journal), [...lines, bad].join("\n") + "\n");
  });
});

Deno.test("tune: an unreachable Redis storage is one line and exit 1", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  await withTempDir(async (dir) => {
    const r = await runMain([
      "tune",
      "--demo",
      "--checkpoint_dir",
      dir,
      "--storage",
      `redis://127.0.0.1:${port}`,
    ]);
    assert.equal(r.code, 1, r.stderr);
    const lines = r.stderr.trim().split("\n").filter((l) => l.startsWith("error: "));
    assert.equal(lines.length, 1, r.stderr);
    assert.match(
      lines[0],
      new RegExp(`Cannot connect to the study storage "redis://127.0.0.1:${port}"`),
    );
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  });
});

Deno.test("tune: a diverging trial fails alone with its reason; no trial completed is exit 1", async () => {
  await withTempDir(async (dir) => {
    const space = join(dir, "space.json");
    await Deno.writeTextFile(
      space,
      JSON.stringify({ lr: { type: "float", low: 1e6, high: 1e7, log: true } }),
    );
    const r = await runMain([
      "tune",
      "--demo",
      "--n_trials",
      "2",
      "--checkpoint_dir",
      dir,
      "--search_space",
      space,
      "--max_train_samples",
      "80",
      "--batch_size",
      "8",
      "--epochs",
      "1",
      "--max_consecutive_nonfinite",
      "2",
      "--max_grad_norm",
      "0",
    ]);
    assert.equal(r.code, 1, r.stderr);
    const trials = await trialsOf(join(dir, "mrpc-tune", "journal.log"));
    assert.deepEqual(trials.map((t) => t.state), [TrialState.FAIL, TrialState.FAIL]);
    for (const t of trials) {
      assert.match(
        String(t.systemAttrs.fail_reason),
        /^exit code 1: Training diverged: 2 consecutive steps/,
      );
    }
    const errors = r.stderr.trim().split("\n").filter((l) => l.startsWith("error: No trial"));
    assert.equal(errors.length, 1, r.stderr);
    assert.match(
      errors[0],
      /^error: No trial of study "mrpc-tune" completed: 2 failed \(trial 1: exit code 1: Training diverged/,
    );
    const summary = JSON.parse(
      await Deno.readTextFile(join(dir, "mrpc-tune", "study_summary.json")),
    );
    assert.match(summary.trials[0].fail_reason, /Training diverged/);
  });
});
