import assert from "node:assert/strict";
import {
  countedTrials,
  floatDist,
  JournalFile,
  JournalMemory,
  Op,
  pyNow,
  RandomSampler,
  TRIAL_DIR_ATTR,
  TrialPruned,
  TrialState,
  WORKER_ATTR,
  WORKER_DIED_ATTR,
} from "../../tune/mod.ts";
import { withTempDir } from "../_helpers.ts";
import { makeStudy } from "./_study.ts";

const sampler = new RandomSampler({ seed: 5 });

Deno.test("study: two workers end a study with exactly nTrials, numbered 0..n-1", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/j.log`;
    const workers = await Promise.all(
      [0, 1].map(async () =>
        makeStudy(sampler, { backend: await new JournalFile(path).open(), nTrials: 7 })
      ),
    );
    const objective = async (
      t: { suggest: (n: string, d: ReturnType<typeof floatDist>) => Promise<unknown> },
    ) => {
      const x = await t.suggest("x", floatDist(0, 1)) as number;
      await new Promise((r) => setTimeout(r, Math.random() * 15));
      return x;
    };
    await Promise.all(workers.map((w) => w.optimize(objective)));
    const trials = await workers[0].trials();
    assert.deepEqual(trials.map((t) => t.number), [0, 1, 2, 3, 4, 5, 6]);
    assert.ok(trials.every((t) => t.state === TrialState.COMPLETE));
    const byWorker = new Set(trials.map((t) => t.createdBy));
    assert.equal(byWorker.size, 2, "both workers ran trials");
  });
});

Deno.test("study: an objective's error fails its trial with the reason; TrialPruned prunes", async () => {
  const study = await makeStudy(sampler, { nTrials: 3 });
  let i = 0;
  await study.optimize(async (t) => {
    await t.suggest("x", floatDist(0, 1));
    i++;
    if (i === 1) throw new Error("out of memory");
    if (i === 2) throw new TrialPruned();
    return 1;
  });
  const trials = await study.trials();
  assert.deepEqual(trials.map((t) => t.state), [
    TrialState.FAIL,
    TrialState.PRUNED,
    TrialState.COMPLETE,
  ]);
  assert.equal(trials[0].systemAttrs.fail_reason, "out of memory");
  assert.equal(countedTrials(trials), 3, "a failed trial counts when it is not retried");
});

Deno.test("study: a RUNNING trial without a heartbeat past the grace period becomes FAIL", async () => {
  const logs: string[] = [];
  const backend = new JournalMemory();
  const study = await makeStudy(sampler, {
    backend,
    nTrials: 3,
    gracePeriodSeconds: 60,
    log: (l) => logs.push(l),
  });
  const stale = (await study.ask())!;
  const young =
    (await (await makeStudy(sampler, { backend, nTrials: 3, gracePeriodSeconds: 60 })).ask())!;
  // Another host's trials: only their heartbeat tells.
  const other = { host: "elsewhere", pid: 1, pid_ns: null };
  const storage = study.options.storage;
  const old = pyNow(new Date(Date.now() - 120_000));
  const attr = (trial_id: number, system_attr: Record<string, unknown>) => ({
    op_code: Op.SET_TRIAL_SYSTEM_ATTR,
    trial_id,
    system_attr,
  });
  await storage.write([
    attr(stale.trial.trialId, { [WORKER_ATTR]: other }),
    attr(stale.trial.trialId, { heartbeat: old }),
    attr(young.trial.trialId, { [WORKER_ATTR]: other }),
    attr(young.trial.trialId, { heartbeat: pyNow() }),
  ]);
  const next = await study.ask();
  assert.ok(next);
  const trials = await study.trials();
  assert.equal(trials[stale.number].state, TrialState.FAIL);
  assert.match(String(trials[stale.number].systemAttrs.fail_reason), /no heartbeat for 12\d s/);
  assert.equal(trials[stale.number].systemAttrs[WORKER_DIED_ATTR], true);
  assert.equal(trials[young.number].state, TrialState.RUNNING);
  // The stale trial is queued again, and this worker claimed it: it is the next trial.
  assert.equal(next.trial.systemAttrs.failed_trial, stale.number);
  assert.ok(logs.some((l) => l.includes(`Trial ${stale.number}: no heartbeat`)));
});

Deno.test("study: a RUNNING trial of a dead worker on this host fails at once", async () => {
  const backend = new JournalMemory();
  const study = await makeStudy(sampler, { backend, nTrials: 3 });
  const t = (await study.ask())!;
  // A process that has ended: its pid no longer exists.
  const child = new Deno.Command("true").spawn();
  const { pid } = child;
  await child.status;
  const me = t.trial.systemAttrs[WORKER_ATTR] as Record<string, unknown>;
  assert.equal(me.pid, Deno.pid);
  await study.options.storage.write([
    {
      op_code: Op.SET_TRIAL_SYSTEM_ATTR,
      trial_id: t.trial.trialId,
      system_attr: { [WORKER_ATTR]: { ...me, pid } },
    },
  ]);
  const retry = (await study.ask())!;
  const trials = await study.trials();
  assert.equal(trials[t.number].state, TrialState.FAIL);
  assert.equal(
    trials[t.number].systemAttrs.fail_reason,
    "its worker process ended without finishing it",
  );
  // Queued again at once, and claimed by this worker: it is RUNNING, and it is not failed
  // as dead (this worker's own).
  assert.equal(retry.number, 1);
  assert.equal(trials[1].state, TrialState.RUNNING);
  assert.deepEqual(trials[1].systemAttrs.retry_history, [0]);
});

Deno.test("study: --retry_failed enqueues a failed trial's parameters again, at most N times", async () => {
  const logs: string[] = [];
  const study = await makeStudy(sampler, { nTrials: 3, retryFailed: 2, log: (l) => logs.push(l) });
  let calls = 0;
  await study.optimize(async (t) => {
    const x = await t.suggest("x", floatDist(0, 1)) as number;
    calls++;
    if (calls <= 3) throw new Error(`crash ${calls}`); // the first trial and both its retries
    return x;
  });
  const trials = await study.trials();
  assert.deepEqual(trials.map((t) => t.state), [3, 3, 3, 1, 1].map((s) => s as 0 | 1 | 2 | 3 | 4));
  assert.equal(trials[1].params.x, trials[0].params.x);
  assert.equal(trials[2].params.x, trials[0].params.x);
  assert.equal(trials[1].systemAttrs.failed_trial, 0);
  assert.deepEqual(trials[1].systemAttrs.retry_history, [0]);
  assert.deepEqual(trials[2].systemAttrs.retry_history, [0, 1]);
  // Retried failures do not count; the last failure (retries used up) does: 1 FAIL + 2 COMPLETE.
  assert.equal(countedTrials(trials), 3);
  assert.ok(logs.includes("Retrying trial 1 (retry 2 of 2)"));
});

Deno.test("study: an interrupted trial is queued again with its parameters, whatever retry_failed", async () => {
  const study = await makeStudy(sampler, { nTrials: 2 });
  const t = (await study.ask())!;
  const x = await t.suggest("x", floatDist(0, 1));
  await t.setSystemAttr(TRIAL_DIR_ATTR, "trials/trial-0");
  await study.interrupt(t.trial);
  let trials = await study.trials();
  assert.equal(trials[0].state, TrialState.FAIL);
  assert.equal(trials[0].systemAttrs.fail_reason, "interrupted");
  assert.equal(trials[1].state, TrialState.WAITING);
  assert.equal(countedTrials(trials), 0);
  const again = (await study.ask())!;
  assert.equal(again.number, 1);
  assert.equal(await again.suggest("x", floatDist(0, 1)), x);
  assert.equal(again.trial.systemAttrs[TRIAL_DIR_ATTR], "trials/trial-0", "it resumes trial 0");
  await study.tell(again.trial, { state: "complete", value: 1 });
  await study.optimize(() => 0);
  trials = await study.trials();
  assert.deepEqual(trials.map((t) => t.state), [
    TrialState.FAIL,
    TrialState.COMPLETE,
    TrialState.COMPLETE,
  ]);
});

Deno.test("study: a dead worker's trial resumes in Optuna's retry form, uncounted, at most N times", async () => {
  const logs: string[] = [];
  const study = await makeStudy(sampler, {
    nTrials: 2,
    maxWorkerRetries: 3,
    log: (l) => logs.push(l),
  });
  const first = (await study.ask())!;
  const x = await first.suggest("x", floatDist(0, 1));
  await first.setSystemAttr(TRIAL_DIR_ATTR, "trials/trial-0");
  const gone = new Deno.Command("true").spawn();
  await gone.status;
  const me = first.trial.systemAttrs[WORKER_ATTR] as Record<string, unknown>;
  /** Makes trial `n` look like a trial whose worker process has ended. */
  const kill = (n: number) =>
    study.options.storage.write([{
      op_code: Op.SET_TRIAL_SYSTEM_ATTR,
      trial_id: n,
      system_attr: { [WORKER_ATTR]: { ...me, pid: gone.pid } },
    }]);
  // Three deaths in a row: trials 1 and 2 resume trial 0's run; the third death is final.
  let current = first;
  for (const expected of [1, 2]) {
    await kill(current.trial.trialId);
    current = (await study.ask())!;
    assert.equal(current.number, expected);
    assert.equal(await current.suggest("x", floatDist(0, 1)), x, "same parameters");
    assert.equal(current.trial.systemAttrs[TRIAL_DIR_ATTR], "trials/trial-0", "trial 0's dir");
    assert.equal(current.trial.systemAttrs.failed_trial, 0);
    const trials = await study.trials();
    assert.equal(countedTrials(trials), 1, "a dead worker's trial does not count");
  }
  await kill(current.trial.trialId);
  const fresh = (await study.ask())!;
  let trials = await study.trials();
  assert.deepEqual(trials[2].systemAttrs.retry_history, [0, 1]);
  assert.equal(trials[2].state, TrialState.FAIL);
  assert.equal(trials[2].systemAttrs[WORKER_DIED_ATTR], false, "a plain FAIL now");
  assert.match(
    String(trials[2].systemAttrs.fail_reason),
    /died 3 times \(--max_worker_retries 3\)/,
  );
  assert.equal(fresh.number, 3, "no retry: a new trial");
  assert.equal(fresh.trial.systemAttrs.failed_trial, undefined);
  trials = await study.trials();
  assert.equal(countedTrials(trials), 2, "the plain FAIL counts, with the new trial");
  assert.ok(logs.some((l) => /^Trial 0: .*trial 1 resumes it from its last checkpoint$/.test(l)));
});
