/**
 * The tuning worker with an in-process runner standing in for the trial processes: the best
 * model kept in best/ (and restored after a crash mid-replacement), other weights removed, the
 * summary, pruning through the runner's reports, interruptions queued again, failures recorded.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  categoricalDist,
  floatDist,
  runTuning,
  type TrialMetrics,
  type TrialOutcome,
  type TrialRunner,
  type TrialSpec,
  TrialState,
  type TuneSettings,
} from "../../tune/mod.ts";
import { loadStudyReport, renderStudyReport } from "../../reports/mod.ts";
import { COMPLETE_MARKER } from "../../train/mod.ts";
import { withTempDir } from "../_helpers.ts";
import { journalTrials } from "./_study.ts";

function settings(dir: string, over: Partial<TuneSettings> = {}): TuneSettings {
  return {
    studyName: "s",
    storage: join(dir, "s", "journal.log"),
    studyDir: join(dir, "s"),
    nTrials: 4,
    timeoutSeconds: null,
    sampler: "random",
    constantLiar: true,
    pruner: "none",
    objective: "accuracy",
    direction: "maximize",
    seed: 1,
    space: new Map([["lr", floatDist(1e-6, 1e-4, { log: true })]]),
    gridValues: new Map(),
    retryFailed: 0,
    keepTrials: false,
    heartbeatIntervalSeconds: 60,
    gracePeriodSeconds: 300,
    maxWorkerRetries: 3,
    storageTimeoutSeconds: 60,
    ...over,
  };
}

const metrics = (accuracy: number): TrialMetrics => ({
  loss: 1 - accuracy,
  accuracy,
  f1: accuracy,
});

/** Writes a fake model and checkpoint into the trial dir and reports `curve`. */
class FakeRunner implements TrialRunner {
  readonly specs: TrialSpec[] = [];
  constructor(
    readonly plan: (spec: TrialSpec) => { curve: number[]; end?: TrialOutcome["kind"] },
  ) {}
  async run(spec: TrialSpec, report: (step: number, m: TrialMetrics) => Promise<boolean>) {
    this.specs.push(spec);
    const { curve, end } = this.plan(spec);
    await Deno.mkdir(join(spec.dir, "checkpoint-10"), { recursive: true });
    await Deno.writeTextFile(join(spec.dir, "checkpoint-10", "model.safetensors"), "ck");
    await Deno.writeTextFile(join(spec.dir, "checkpoint-10", COMPLETE_MARKER), "{}");
    for (const [i, acc] of curve.entries()) {
      if (await report((i + 1) * 10, metrics(acc))) {
        return { kind: "pruned" as const, step: (i + 1) * 10 };
      }
    }
    if (end === "fail") return { kind: "fail" as const, reason: "exit code 1: training diverged" };
    if (end === "interrupted") return { kind: "interrupted" as const };
    await Deno.writeTextFile(join(spec.dir, "model.safetensors"), `weights of ${spec.number}`);
    await Deno.writeTextFile(join(spec.dir, "config.json"), "{}");
    return {
      kind: "complete" as const,
      best: metrics(Math.max(...curve)),
      globalStep: 10 * curve.length,
    };
  }
}

Deno.test("worker: best/ holds the best trial's model; other weights go; the summary says so", async () => {
  await withTempDir(async (dir) => {
    const accs = [0.7, 0.9, 0.8, 0.85];
    const runner = new FakeRunner((spec) => ({
      curve: [accs[spec.number] - 0.1, accs[spec.number]],
    }));
    const logs: string[] = [];
    const s = settings(dir);
    const summary = await runTuning(s, { runner, log: (l) => logs.push(l) });
    assert.equal(runner.specs.length, 4);
    const best = join(s.studyDir, "best");
    assert.equal(await Deno.readTextFile(join(best, "model.safetensors")), "weights of 1");
    assert.equal(JSON.parse(await Deno.readTextFile(join(best, "trial.json"))).number, 1);
    for (let n = 0; n < 4; n++) {
      const names = (await Array.fromAsync(Deno.readDir(join(s.studyDir, "trials", `trial-${n}`))))
        .map((e) => e.name);
      assert.deepEqual(names, ["config.json"], `trial ${n}: weights and checkpoints removed`);
    }
    assert.equal(summary.best_trial!.number, 1);
    assert.equal(summary.best_trial!.value, 0.9);
    assert.deepEqual(summary.top_trials.map((t) => t.number), [1, 3, 2, 0]);
    assert.equal(summary.best_model, best);
    const saved = JSON.parse(await Deno.readTextFile(join(s.studyDir, "study_summary.json")));
    assert.deepEqual(saved.states, { RUNNING: 0, COMPLETE: 4, PRUNED: 0, FAIL: 0, WAITING: 0 });
    assert.ok(
      logs.some((l) =>
        /^Trial 1 COMPLETE accuracy 0\.9000 in [\d.]+s; best so far: trial 1, accuracy 0\.9000$/
          .test(l)
      ),
      logs.join("\n"),
    );
    // Intermediate values are the reports at their steps.
    const trials = await journalTrials(s.storage, "s");
    assert.deepEqual([...trials[1].intermediateValues], [[10, 0.8], [20, 0.9]]);
  });
});

Deno.test("worker: a study on loss (minimize) names the minimum in the summary, best/, the report", async () => {
  await withTempDir(async (dir) => {
    // Losses 0.3, 0.1, 0.2, 0.15: the minimum is trial 1; the maximum (the wrong pick) trial 0.
    const accs = [0.7, 0.9, 0.8, 0.85];
    const runner = new FakeRunner((spec) => ({ curve: [accs[spec.number]] }));
    const s = settings(dir, { objective: "loss", direction: "minimize" });
    const summary = await runTuning(s, { runner, log: () => {} });
    assert.equal(summary.direction, "minimize");
    assert.equal(summary.best_trial!.number, 1);
    assert.ok(Math.abs(summary.best_trial!.value! - 0.1) < 1e-12);
    assert.deepEqual(summary.top_trials.map((t) => t.number), [1, 3, 2, 0]);
    const best = join(s.studyDir, "best");
    assert.equal(await Deno.readTextFile(join(best, "model.safetensors")), "weights of 1");
    assert.equal(JSON.parse(await Deno.readTextFile(join(best, "trial.json"))).number, 1);
    const html = await renderStudyReport(
      await loadStudyReport({ storage: s.storage, studyName: "s", studyDir: s.studyDir }),
    );
    assert.match(html, /<p class="meta">Best: trial 1, loss 0\.1000 with lr=/);
    assert.match(html, /<td>1<\/td><td>1<\/td><td>0\.1000<\/td>/, "rank 1 is trial 1");
  });
});

Deno.test("worker: --keep_trials keeps every trial's weights", async () => {
  await withTempDir(async (dir) => {
    const runner = new FakeRunner(() => ({ curve: [0.5] }));
    const s = settings(dir, { nTrials: 2, keepTrials: true });
    await runTuning(s, { runner, log: () => {} });
    for (const n of [0, 1]) {
      await Deno.stat(join(s.studyDir, "trials", `trial-${n}`, "model.safetensors"));
      await Deno.stat(join(s.studyDir, "trials", `trial-${n}`, "checkpoint-10"));
    }
  });
});

Deno.test("worker: a failed trial is recorded with its reason and the study goes on", async () => {
  await withTempDir(async (dir) => {
    const runner = new FakeRunner((spec) => ({
      curve: [0.6],
      end: spec.number === 0 ? "fail" : undefined,
    }));
    const s = settings(dir, { nTrials: 2 });
    const summary = await runTuning(s, { runner, log: () => {} });
    const trials = await journalTrials(s.storage, "s");
    assert.deepEqual(trials.map((t) => t.state), [TrialState.FAIL, TrialState.COMPLETE]);
    assert.equal(trials[0].systemAttrs.fail_reason, "exit code 1: training diverged");
    assert.equal(summary.states.FAIL, 1);
  });
});

Deno.test("worker: an interrupted trial keeps its checkpoint and resumes in its own dir", async () => {
  await withTempDir(async (dir) => {
    let stop = false;
    const first = new FakeRunner((spec) => ({
      curve: [0.6],
      end: spec.number === 1 ? "interrupted" : undefined,
    }));
    const s = settings(dir, { nTrials: 3 });
    await runTuning(s, {
      runner: {
        run: async (spec, report) => {
          const out = await first.run(spec, report);
          if (out.kind === "interrupted") stop = true;
          return out;
        },
      },
      log: () => {},
      stopRequested: () => stop,
    });
    await Deno.stat(join(s.studyDir, "trials", "trial-1", "checkpoint-10")); // kept for the resume
    const second = new FakeRunner(() => ({ curve: [0.7] }));
    await runTuning(s, { runner: second, log: () => {} });
    assert.deepEqual(second.specs.map((x) => [x.number, x.resume, x.dir.endsWith("trial-1")]), [
      [2, true, true],
      [3, false, false],
    ]);
    const trials = await journalTrials(s.storage, "s");
    assert.deepEqual(trials.map((t) => t.state), [1, 3, 1, 1]);
  });
});

Deno.test("worker: the median pruner stops a trial through its reports", async () => {
  await withTempDir(async (dir) => {
    // Five good trials, then a poor one: pruned at its first report, below the median.
    const runner = new FakeRunner((spec) => ({
      curve: spec.number < 5 ? [0.8, 0.9] : [0.5, 0.95],
    }));
    const s = settings(dir, { nTrials: 6, pruner: "median" });
    const logs: string[] = [];
    const summary = await runTuning(s, { runner, log: (l) => logs.push(l) });
    assert.equal(summary.states.PRUNED, 1);
    assert.ok(logs.some((l) => l.startsWith("Trial 5 PRUNED at step 10")));
    const trials = await journalTrials(s.storage, "s");
    assert.deepEqual([...trials[5].intermediateValues.keys()], [10]);
  });
});

Deno.test("worker: a best/ left aside by a crash mid-replacement is restored", async () => {
  await withTempDir(async (dir) => {
    const s = settings(dir, { nTrials: 1 });
    await Deno.mkdir(join(s.studyDir, ".best.old-4242"), { recursive: true });
    await Deno.writeTextFile(join(s.studyDir, ".best.old-4242", "model.safetensors"), "old best");
    const logs: string[] = [];
    // It is put back before the first trial starts (which then replaces it as the new best).
    await runTuning(s, {
      runner: new FakeRunner(() => ({ curve: [0.5] })),
      log: (l) => logs.push(l),
    });
    assert.ok(
      logs.findIndex((l) => l.startsWith("Restored the best model")) <
        logs.findIndex((l) => l.startsWith("Trial 0 started")),
    );
    assert.equal(
      await Deno.stat(join(s.studyDir, ".best.old-4242")).then(() => true, () => false),
      false,
    );
  });
});

Deno.test("worker: a grid over two parameters runs the product and stops at its end", async () => {
  await withTempDir(async (dir) => {
    const space = new Map([["lr", categoricalDist([1e-5, 2e-5])], [
      "batch_size",
      categoricalDist([16, 32]),
    ]]);
    const runner = new FakeRunner(() => ({ curve: [0.5] }));
    await runTuning(settings(dir, { sampler: "grid", space, nTrials: 100 }), {
      runner,
      log: () => {},
    });
    assert.deepEqual(runner.specs.map((x) => x.params), [
      { lr: 1e-5, batch_size: 16 },
      { lr: 1e-5, batch_size: 32 },
      { lr: 2e-5, batch_size: 16 },
      { lr: 2e-5, batch_size: 32 },
    ]);
  });
});
