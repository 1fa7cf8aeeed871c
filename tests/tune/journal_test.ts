import assert from "node:assert/strict";
import {
  categoricalDist,
  floatDist,
  intDist,
  JournalFile,
  JournalMemory,
  JournalState,
  JournalStorage,
  Op,
  parsePyDate,
  parsePyJson,
  pyNow,
  RandomSampler,
  stringifyPyJson,
  TrialState,
} from "../../tune/mod.ts";
// Private: the sampler's own random stream, to compute its log-uniform draw by hand below.
import { paramRng } from "../../tune/samplers/sampler.ts";
import { waitFor, withTempDir } from "../_helpers.ts";
import { assertSectionsExclude, makeStudy } from "./_study.ts";

Deno.test("journal JSON: NaN and ±Infinity are written and read bare, as Python's json does", () => {
  const record = { op_code: 7, step: 3, intermediate_value: NaN, v: [Infinity, -Infinity, 1.5] };
  const text = stringifyPyJson(record);
  assert.equal(
    text,
    '{"op_code": 7, "step": 3, "intermediate_value": NaN, "v": [Infinity, -Infinity, 1.5]}',
  );
  const back = parsePyJson(text) as typeof record;
  assert.ok(Number.isNaN(back.intermediate_value));
  assert.deepEqual(back.v, [Infinity, -Infinity, 1.5]);
  // Inside strings the words are text.
  assert.deepEqual(parsePyJson('{"a": "NaN Infinity", "b": "x\\"NaN"}'), {
    a: "NaN Infinity",
    b: 'x"NaN',
  });
});

Deno.test("journal dates: Python's naive local isoformat, microseconds, round trip", () => {
  const d = new Date(2026, 11, 1, 22, 5, 7, 123);
  const text = pyNow(d);
  assert.match(text, /^2026-12-01T22:05:07\.123000$/);
  assert.equal(parsePyDate(text), d.getTime());
  assert.equal(parsePyDate("2026-12-01T22:05:07"), new Date(2026, 11, 1, 22, 5, 7).getTime());
});

Deno.test("journal file: a torn last line is ignored, a bad line in the middle names the file", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/j.log`;
    const good = stringifyPyJson({ op_code: 0, worker_id: "w", study_name: "s", directions: [1] });
    await Deno.writeTextFile(path, `${good}\n{"op_code": 4, "stu`);
    const file = await new JournalFile(path).open();
    assert.equal((await file.readAll()).length, 1);
    await Deno.writeTextFile(path, `${good}\n{"op_code": 4, "stu\n${good}\n`);
    await assert.rejects(() => file.readAll(), (err: Error) => {
      assert.match(err.message, new RegExp(`Invalid study journal "${path}" line 2`));
      return true;
    });
  });
});

Deno.test("journal file: a writer appends after a torn line on a fresh line", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/j.log`;
    const storage = new JournalStorage(await new JournalFile(path).open());
    await storage.getOrCreateStudy("s", 1);
    await Deno.writeTextFile(path, '{"op_code": 4, "stu', { append: true }); // a killed writer
    const study = await makeStudy(new RandomSampler({ seed: 0 }), {
      backend: await new JournalFile(path).open(),
      nTrials: 2,
    });
    await study.optimize(async (t) => (await t.suggest("x", floatDist(0, 1))) as number);
    const trials = await study.trials();
    assert.equal(trials.length, 2);
    assert.ok(trials.every((t) => t.state === TrialState.COMPLETE));
  });
});

Deno.test("journal file lock: concurrent read-modify-write sections exclude each other", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/j.log`;
    const writers = await Promise.all([0, 1, 2].map(() => new JournalFile(path).open()));
    await assertSectionsExclude(writers);
    assert.equal(await Deno.lstat(`${path}.lock`).then(() => true, () => false), false);
  });
});

Deno.test("journal records: a wrong type or range names the file and the line", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/j.log`;
    const w = { worker_id: "w" };
    const study = { op_code: 0, ...w, study_name: "s", directions: [2] };
    const lr = JSON.stringify({
      name: "FloatDistribution",
      attributes: { low: 1e-6, high: 1e-4, log: true, step: null },
    });
    const trial = (extra: Record<string, unknown>) => ({
      op_code: 4,
      ...w,
      study_id: 0,
      state: 1,
      values: [0.8],
      distributions: { lr },
      params: { lr: 3e-5 },
      ...extra,
    });
    const cases: [Record<string, unknown>, RegExp][] = [
      [
        trial({ values: "high" }),
        /line 2: field "values" "high" is not null or a list of numbers$/,
      ],
      [{ op_code: 42, ...w }, /line 2: unknown op_code 42 \(Optuna's journal has 0 to 9\)$/],
      [trial({ state: 7 }), /line 2: field "state" 7 is not a trial state \(0 to 4\)$/],
      [trial({ params: { lr: 5 } }), /line 2: param "lr" 5 is outside \[0\.000001, 0\.0001\]$/],
      [
        {
          op_code: 5,
          ...w,
          trial_id: 0,
          param_name: "lr",
          param_value_internal: 1,
          distribution: "{}",
        },
        /line 2: field "distribution" is not a distribution/,
      ],
      [
        { op_code: 6, ...w, trial_id: -1, state: 1 },
        /line 2: field "trial_id" -1 is not a trial id$/,
      ],
    ];
    for (const [record, pattern] of cases) {
      await Deno.writeTextFile(path, `${stringifyPyJson(study)}\n${stringifyPyJson(record)}\n`);
      await assert.rejects(() => new JournalFile(path).readAll(), (err: Error) => {
        assert.equal(err.name, "InputError");
        assert.ok(err.message.startsWith(`Invalid study journal "${path}" line 2: `), err.message);
        assert.match(err.message, pattern);
        return true;
      });
    }
  });
});

Deno.test("journal file lock: a lock untouched for 30 s is broken; a fresh one is waited for", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/j.log`;
    const file = await new JournalFile(path).open();
    await Deno.symlink(path, `${path}.lock`);
    const touch = await new Deno.Command("touch", {
      args: ["-h", "-d", "40 seconds ago", `${path}.lock`],
    }).output();
    assert.ok(touch.success);
    const t0 = performance.now();
    await file.append([{ op_code: 0, worker_id: "w", study_name: "s", directions: [1] }]);
    assert.ok(performance.now() - t0 < 60_000, "a stale lock is broken, not waited for");
    assert.equal((await file.readAll()).length, 1);
    // A fresh lock held by someone else: the append waits until it is released, and a wait
    // that lasts is said in one line.
    const lines: string[] = [];
    const waiting = await new JournalFile(path, { log: (l) => lines.push(l) }).open();
    await Deno.symlink(path, `${path}.lock`);
    let done = false;
    const pending = waiting.append([{
      op_code: 0,
      worker_id: "w",
      study_name: "t",
      directions: [1],
    }])
      .then(() => done = true);
    await waitFor(() => lines.length > 0, "the waiting line");
    assert.equal(done, false);
    assert.match(
      lines[0],
      /^Waiting for the study journal lock ".*j\.log\.lock" \(untouched for \d+ s: another worker holds it, or a killed one left it; it is broken after 30 s untouched\)$/,
    );
    await Deno.remove(`${path}.lock`);
    await pending;
    assert.equal((await file.readAll()).length, 2);
  });
});

Deno.test("journal replay: Optuna's rules for claims, finished trials and conflicts", () => {
  const w = (worker: string, r: Record<string, unknown>) => ({ worker_id: worker, ...r }) as never;
  const state = new JournalState();
  const trial = (extra: Record<string, unknown> = {}) => ({
    op_code: Op.CREATE_TRIAL,
    study_id: 0,
    datetime_start: null,
    state: TrialState.WAITING,
    value: null,
    values: null,
    distributions: {},
    params: {},
    user_attrs: {},
    system_attrs: {},
    intermediate_values: {},
    ...extra,
  });
  state.apply([
    w("a", { op_code: Op.CREATE_STUDY, study_name: "s", directions: [2] }),
    w("a", trial()),
    // Two workers claim the WAITING trial: the first RUNNING record wins.
    w("b", {
      op_code: Op.SET_TRIAL_STATE_VALUES,
      trial_id: 0,
      state: 0,
      values: null,
      datetime_start: "2026-12-01T10:00:00.000000",
    }),
    w("c", {
      op_code: Op.SET_TRIAL_STATE_VALUES,
      trial_id: 0,
      state: 0,
      values: null,
      datetime_start: "2026-12-01T10:00:01.000000",
    }),
    w("b", {
      op_code: Op.SET_TRIAL_STATE_VALUES,
      trial_id: 0,
      state: 1,
      values: [0.8],
      datetime_complete: "2026-12-01T10:01:00.000000",
    }),
    // Records about a finished trial are dropped.
    w("c", {
      op_code: Op.SET_TRIAL_INTERMEDIATE_VALUE,
      trial_id: 0,
      step: 5,
      intermediate_value: 0.1,
    }),
    w("c", { op_code: Op.SET_TRIAL_STATE_VALUES, trial_id: 0, state: 3, values: null }),
    // A parameter whose distribution conflicts with an earlier trial's is dropped.
    w("a", trial({ state: 0, datetime_start: "2026-12-01T10:02:00.000000" })),
    w("a", {
      op_code: Op.SET_TRIAL_PARAM,
      trial_id: 1,
      param_name: "x",
      param_value_internal: 0.5,
      distribution:
        '{"name": "FloatDistribution", "attributes": {"log": false, "step": null, "low": 0.0, "high": 1.0}}',
    }),
    w("a", trial({ state: 0, datetime_start: "2026-12-01T10:03:00.000000" })),
    w("a", {
      op_code: Op.SET_TRIAL_PARAM,
      trial_id: 2,
      param_name: "x",
      param_value_internal: 1,
      distribution: '{"name": "CategoricalDistribution", "attributes": {"choices": ["a", "b"]}}',
    }),
  ]);
  const [t0, t1, t2] = state.trialsOf(0);
  assert.equal(t0.runningBy, "b");
  assert.equal(t0.state, TrialState.COMPLETE);
  assert.deepEqual(t0.values, [0.8]);
  assert.equal(t0.intermediateValues.size, 0);
  assert.equal(t1.params.x, 0.5);
  assert.deepEqual(t2.params, {});
  assert.deepEqual([t0.number, t1.number, t2.number], [0, 1, 2]);
});

Deno.test("journal lock in one process: nested calls run at once, concurrent ones wait", () =>
  withTempDir(async (dir) => {
    for (
      const backend of [
        new JournalMemory(),
        await new JournalFile(`${dir}/j.log`).open(),
      ]
    ) {
      const events: string[] = [];
      const a = backend.withLock(async () => {
        events.push("a in");
        await backend.withLock(() => Promise.resolve(void events.push("a nested")));
        await new Promise((r) => setTimeout(r, 30));
        events.push("a out");
      });
      // A timer-started caller, as a heartbeat is, while `a` holds the lock.
      const b = new Promise<void>((resolve) =>
        setTimeout(
          () => backend.withLock(() => Promise.resolve(void events.push("b"))).then(resolve),
          5,
        )
      );
      await Promise.all([a, b]);
      assert.deepEqual(events, ["a in", "a nested", "a out", "b"]);
    }
  }));

Deno.test("journal values: log-scale parameters are stored as their values, checked by hand", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/j.log`;
    const study = await makeStudy(new RandomSampler({ seed: 3 }), {
      backend: await new JournalFile(path).open(),
    });
    await study.enqueue([{ lr: 3e-5, w: 8, b: 32 }]);
    for (let i = 0; i < 2; i++) {
      const t = (await study.ask())!;
      await t.suggest("lr", floatDist(1e-6, 1e-4, { log: true }));
      await t.suggest("w", intDist(1, 64, { log: true }));
      await t.suggest("b", categoricalDist([16, 32]));
      await study.tell(t.trial, { state: "complete", value: 1 });
    }
    const stored = (await Deno.readTextFile(path)).trim().split("\n").map((l) => JSON.parse(l))
      .filter((r) => r.op_code === Op.SET_TRIAL_PARAM)
      .map((r) => [r.trial_id, r.param_name, r.param_value_internal, JSON.parse(r.distribution)]);
    // Optuna's internal representation: a float or int is its value (not its log), a
    // categorical the index of its choice.
    const lrDist = {
      name: "FloatDistribution",
      attributes: { step: null, low: 1e-6, high: 1e-4, log: true },
    };
    const wDist = { name: "IntDistribution", attributes: { log: true, step: 1, low: 1, high: 64 } };
    const bDist = { name: "CategoricalDistribution", attributes: { choices: [16, 32] } };
    // Trial 1's draws, by hand: uniform in log space (ints over [low − 0.5, high + 0.5], rounded).
    const u = (name: string) => paramRng(3, 1, name)();
    const lr = Math.exp(Math.log(1e-6) + u("lr") * (Math.log(1e-4) - Math.log(1e-6)));
    const w = Math.round(Math.exp(Math.log(0.5) + u("w") * (Math.log(64.5) - Math.log(0.5))));
    const b = Math.floor(u("b") * 2);
    assert.deepEqual(stored, [
      [0, "lr", 3e-5, lrDist],
      [0, "w", 8, wDist],
      [0, "b", 1, bDist],
      [1, "lr", lr, lrDist],
      [1, "w", w, wDist],
      [1, "b", b, bDist],
    ]);
    assert.ok(lr > 1e-6 && lr < 1e-4);
    const trials = await study.trials();
    assert.deepEqual(trials.map((t) => t.params), [
      { lr: 3e-5, w: 8, b: 32 },
      { lr, w, b: [16, 32][b] },
    ]);
  });
});
