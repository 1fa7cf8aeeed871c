/**
 * Journal compatibility with Python Optuna 3.1 (Debian's python3-optuna): studies written here
 * load there and the other way round, writers of both languages share one file, and killed
 * writers lose nothing. Skipped, with the reason printed, where python3-optuna is absent.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  categoricalDist,
  Direction,
  distributionFromJson,
  distributionToJson,
  floatDist,
  intDist,
  JournalFile,
  JournalStorage,
  observationsOf,
  RandomSampler,
  STATE_NAMES,
  TpeSampler,
  type Trial,
  TrialState,
} from "../../tune/mod.ts";
// Private: the estimator is compared with Optuna's on its own, where a difference is easy to place.
import { ParzenEstimator } from "../../tune/samplers/_parzen.ts";
import {
  needsPython,
  pythonJson,
  REPO_ROOT,
  SYSTEM_PYTHON,
  waitFor,
  withTempDir,
} from "../_helpers.ts";
import { makeStudy } from "./_study.ts";

const PY = join(REPO_ROOT, "tests", "tune", "_optuna.py");

interface PyTrial {
  number: number;
  state: string;
  params: Record<string, unknown>;
  distributions: Record<string, Record<string, unknown>>;
  values: (number | string)[] | null;
  intermediate_values: Record<string, number | string>;
  user_attrs: Record<string, unknown>;
  system_attrs: Record<string, unknown>;
  duration: number | null;
}

async function pyDump(
  spec: string,
  study = "s",
): Promise<{ trials: PyTrial[]; best_number?: number; directions: string[] }> {
  const out = await new Deno.Command(SYSTEM_PYTHON, {
    args: [PY, "dump", spec, study],
    stderr: "piped",
    stdout: "piped",
  }).output();
  const err = new TextDecoder().decode(out.stderr);
  assert.ok(out.success, `python dump failed: ${err}`);
  return JSON.parse(new TextDecoder().decode(out.stdout));
}

async function pyRun(...args: string[]): Promise<void> {
  const out = await new Deno.Command(SYSTEM_PYTHON, {
    args: [PY, "run", ...args],
    stderr: "piped",
    stdout: "null",
  }).output();
  assert.ok(out.success, `python run failed: ${new TextDecoder().decode(out.stderr)}`);
}

const pyNumber = (v: number | string) =>
  v === "NaN" ? NaN : v === "Infinity" ? Infinity : v === "-Infinity" ? -Infinity : v as number;

/** Asserts that Python sees `ours` exactly as this side does. */
function assertSame(ours: readonly Trial[], theirs: readonly PyTrial[]): void {
  assert.equal(theirs.length, ours.length);
  for (const [i, t] of ours.entries()) {
    const p = theirs[i];
    assert.equal(p.number, t.number);
    assert.equal(p.state, STATE_NAMES[t.state]);
    assert.deepEqual(p.params, t.params);
    assert.deepEqual(
      Object.fromEntries(
        Object.entries(p.distributions).map(([k, d]) => [k, distributionFromJson(d)]),
      ),
      t.distributions,
    );
    assert.deepEqual(p.values?.map(pyNumber) ?? null, t.values);
    assert.deepEqual(
      new Map(Object.entries(p.intermediate_values).map(([k, v]) => [Number(k), pyNumber(v)])),
      t.intermediateValues,
    );
    assert.deepEqual(p.user_attrs, t.userAttrs);
    assert.deepEqual(p.system_attrs, t.systemAttrs);
  }
}

const noOptuna = needsPython(["optuna"], "journal compatibility with Python Optuna");

Deno.test({
  name: "optuna: a study written here loads in Python with the same trials, values and attributes",
  ignore: noOptuna,
  fn: () =>
    withTempDir(async (dir) => {
      const path = join(dir, "journal.log");
      const study = await makeStudy(new TpeSampler({ seed: 42 }), {
        backend: await new JournalFile(path).open(),
        direction: Direction.MAXIMIZE,
        nTrials: 10,
      });
      const suggestAll = async (h: NonNullable<Awaited<ReturnType<typeof study.ask>>>) => {
        await h.suggestFloat("lr", { low: 1e-6, high: 1e-4, log: true });
        await h.suggestCategorical("batch_size", [8, 16, 32]);
        await h.suggestInt("epochs", { low: 2, high: 4 });
        await h.suggestFloat("warmup_ratio", { low: 0, high: 0.2, step: 0.05 });
        await h.suggestCategorical("lr_scheduler", ["linear", "cosine"]);
      };
      const complete = (await study.ask())!;
      await suggestAll(complete);
      await complete.report(0.5, 10);
      await complete.report(NaN, 20);
      await study.options.storage.setUserAttr(complete.trial, "note", { text: "π ok", n: [1, 2] });
      await study.tell(complete.trial, { state: "complete", value: 0.8125 });
      const pruned = (await study.ask())!;
      await suggestAll(pruned);
      await pruned.report(-Infinity, 10);
      await study.tell(pruned.trial, { state: "pruned" });
      const failed = (await study.ask())!;
      await suggestAll(failed);
      await study.tell(failed.trial, { state: "fail", reason: "exit code 1: out of memory" });
      const running = (await study.ask())!;
      await running.heartbeat();
      await study.enqueue([{ lr: 3e-5, batch_size: 16 }]);
      const ours = await study.trials();
      assert.deepEqual(ours.map((t) => t.state), [1, 2, 3, 0, 4]);
      const py = await pyDump(path);
      assert.deepEqual(py.directions, ["MAXIMIZE"]);
      assertSame(ours, py.trials);
      assert.equal(py.best_number, 0);
      assert.ok(py.trials[0].duration! >= 0, "naive local datetimes give a duration");
      // Our distribution JSON is Optuna's own, byte for byte.
      const d = floatDist(1e-6, 1e-4, { log: true });
      assert.equal(
        distributionToJson(d),
        '{"name":"FloatDistribution","attributes":{"step":null,"low":0.000001,"high":0.0001,"log":true}}',
      );
    }),
});

Deno.test({
  name: "optuna: a study begun in Python is continued here, then Python sees every trial",
  ignore: noOptuna,
  fn: () =>
    withTempDir(async (dir) => {
      const path = join(dir, "journal.log");
      await pyRun(path, "s", "4", "maximize");
      const study = await makeStudy(new TpeSampler({ seed: 1, nStartupTrials: 3 }), {
        backend: await new JournalFile(path).open(),
        direction: Direction.MAXIMIZE,
        nTrials: 7,
      });
      const before = await study.trials();
      assert.equal(before.length, 4);
      assert.ok(
        before.every((t) => t.state === TrialState.COMPLETE && t.userAttrs.by === "python"),
      );
      assert.deepEqual(before[0].distributions.batch_size, categoricalDist([8, 16, 32]));
      assert.deepEqual(before[0].distributions.epochs, intDist(1, 4));
      await study.optimize(async (t) => {
        const lr = await t.suggestFloat("lr", { low: 1e-6, high: 1e-4, log: true }) as number;
        const bs = await t.suggestCategorical("batch_size", [8, 16, 32]) as number;
        await t.suggestInt("epochs", { low: 1, high: 4 });
        await study.options.storage.setUserAttr(t.trial, "by", "typescript");
        return -((Math.log10(lr) + 4.5) ** 2) + bs / 1000;
      });
      await pyRun(path, "s", "2", "maximize");
      const py = await pyDump(path);
      assert.deepEqual(py.trials.map((t) => t.number), [0, 1, 2, 3, 4, 5, 6, 7, 8]);
      assert.deepEqual(py.trials.map((t) => t.user_attrs.by), [
        ...Array(4).fill("python"),
        ...Array(3).fill("typescript"),
        ...Array(2).fill("python"),
      ]);
      assert.ok(py.trials.every((t) => t.state === "COMPLETE"));
      assertSame(await study.trials(), py.trials);
    }),
});

/** Spawns a writer that runs trials until killed; its stdout says which it finished. */
function writer(kind: "python" | "typescript", path: string, tag: string) {
  const command = kind === "python"
    ? new Deno.Command(SYSTEM_PYTHON, {
      args: [PY, "loop", path, "s", tag],
      stdout: "piped",
      stderr: "piped",
    })
    : new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", join(REPO_ROOT, "tests", "tune", "_journal_writer.ts"), path, "s", tag],
      stdout: "piped",
      stderr: "piped",
    });
  const child = command.spawn();
  const output = child.output();
  return {
    child,
    /** Kills it (SIGKILL after `ms`, or when `after` lines were printed); the "done" lines. */
    async killAfter(ms: number): Promise<[number, number][]> {
      await new Promise((r) => setTimeout(r, ms));
      child.kill("SIGKILL");
      const out = await output;
      return new TextDecoder().decode(out.stdout).split("\n").filter((l) => l.startsWith("done "))
        .map((l) => l.split(" ").slice(1).map(Number) as [number, number]);
    },
    async stop(): Promise<[number, number][]> {
      return await this.killAfter(0);
    },
  };
}

Deno.test({
  name: "optuna: a Python and a TypeScript writer appending to one file at once lose nothing",
  ignore: noOptuna,
  fn: () =>
    withTempDir(async (dir) => {
      const path = join(dir, "journal.log");
      await pyRun(path, "s", "0", "minimize"); // create the study
      const py = writer("python", path, "python");
      const ts = writer("typescript", path, "typescript");
      // Until each has finished at least 3 trials (read as a third reader would).
      const finished = async (tag: string) =>
        (await new JournalStorage(new JournalFile(path)).sync()).trialsOf(0)
          .filter((t) => t.userAttrs.by === tag && t.state === TrialState.COMPLETE).length;
      await waitFor(
        async () => (await finished("python")) >= 3 && (await finished("typescript")) >= 3,
        "both writers to finish 3 trials",
        { everyMs: 200 },
      );
      const done = [...await py.stop(), ...await ts.stop()];
      const theirs = (await pyDump(path)).trials;
      const study = await makeStudy(new RandomSampler({ seed: 0 }), {
        backend: await new JournalFile(path, { lockGraceSeconds: 1 }).open(),
        nTrials: 1e6,
      });
      const ours = await study.trials();
      assertSame(ours, theirs);
      const byTag = (tag: string) =>
        ours.filter((t) => t.userAttrs.by === tag && t.state === TrialState.COMPLETE).length;
      assert.ok(
        byTag("python") >= 3 && byTag("typescript") >= 3,
        `both wrote: ${byTag("python")} / ${byTag("typescript")}`,
      );
      // Every trial a writer finished is there, once, with its value.
      for (const [number, value] of done) {
        assert.equal(ours[number].state, TrialState.COMPLETE);
        assert.equal(ours[number].values![0], value);
      }
      assert.equal(new Set(ours.map((t) => t.number)).size, ours.length);
    }),
});

Deno.test({
  name: "optuna: writers SIGKILLed mid-append, many times: both languages reload every trial",
  ignore: noOptuna,
  fn: () =>
    withTempDir(async (dir) => {
      const path = join(dir, "journal.log");
      await pyRun(path, "s", "0", "minimize");
      const done: [number, number][] = [];
      for (let round = 0; round < 8; round++) {
        const kind = round % 2 === 0 ? "typescript" : "python";
        const w = writer(kind, path, kind);
        done.push(...await w.killAfter(1200 + 150 * round));
        // A lock left by the killed writer is broken by the next TypeScript writer (1 s grace here,
        // Optuna 4.3's 30 s by default); Python 3.1 would wait for it forever.
        await new JournalFile(path, { lockGraceSeconds: 1 }).withLock(() => Promise.resolve());
        const ours = await (await makeStudy(new RandomSampler({ seed: 0 }), {
          backend: await new JournalFile(path).open(),
          nTrials: 1e6,
        })).trials();
        assertSame(ours, (await pyDump(path)).trials);
        for (const [number, value] of done) {
          assert.equal(
            ours[number].state,
            TrialState.COMPLETE,
            `trial ${number} after round ${round}`,
          );
          assert.equal(ours[number].values![0], value);
        }
      }
      assert.ok(done.length > 20, `${done.length} trials finished across the kills`);
    }),
});

Deno.test({
  name: "optuna: TPE's observations, constant liar on and off, are Optuna 3.1's on the same study",
  ignore: noOptuna,
  fn: () =>
    withTempDir(async (dir) => {
      const path = join(dir, "journal.log");
      const study = await makeStudy(new TpeSampler({ seed: 3 }), {
        backend: await new JournalFile(path).open(),
        direction: Direction.MAXIMIZE,
        nTrials: 20,
      });
      const lr = async (h: NonNullable<Awaited<ReturnType<typeof study.ask>>>) =>
        await h.suggestFloat("lr", { low: 1e-6, high: 1e-4, log: true });
      const finish = async (outcome: "complete" | "pruned" | "fail" | "running", value = 0) => {
        const h = (await study.ask())!;
        await lr(h);
        if (outcome === "complete") await study.tell(h.trial, { state: "complete", value });
        if (outcome === "pruned") {
          if (value !== 0) await h.report(value, 3);
          await study.tell(h.trial, { state: "pruned" });
        }
        if (outcome === "fail") await study.tell(h.trial, { state: "fail", reason: "test" });
      };
      await finish("complete", 0.8);
      await finish("running"); // another worker's trial, still in flight
      await finish("pruned", 0.6);
      await finish("fail");
      await finish("complete", 0.7);
      await finish("pruned"); // no intermediate value
      await finish("running");
      (await study.ask())!; // running, no parameter yet (the trial being sampled)
      await study.enqueue([{ lr: 3e-5 }]); // waiting
      const trials = await study.trials();
      for (const liar of [false, true]) {
        const ours = observationsOf(trials, "lr", -1, liar);
        const out = await new Deno.Command(SYSTEM_PYTHON, {
          args: [PY, "pairs", path, "s", "lr", liar ? "1" : "0"],
          stdout: "piped",
          stderr: "piped",
        }).output();
        assert.ok(out.success, new TextDecoder().decode(out.stderr));
        const py = JSON.parse(new TextDecoder().decode(out.stdout));
        assert.equal(ours.n, py.n, `liar ${liar}`);
        assert.equal(ours.n, 4);
        assert.deepEqual(ours.scores, py.scores.map((s: (number | string)[]) => s.map(pyNumber)));
        assert.equal(ours.values.length, py.values.length);
        for (const [i, v] of ours.values.entries()) {
          // Internal values: log(lr), computed by each language's own log.
          if (v === null) assert.equal(py.values[i], null);
          else assert.ok(Math.abs(v - py.values[i]) < 1e-12, `value ${i}: ${v} vs ${py.values[i]}`);
        }
        assert.equal(ours.scores.length, liar ? 7 : 4);
      }
    }),
});

Deno.test({
  name: "optuna: TPE's Parzen estimator has Optuna's log densities (with optuna#5110, as >= 3.5)",
  ignore: noOptuna,
  fn: async () => {
    // The four kinds of parameter, with observations that leave some kernels clipped by the
    // magic clip, some at the bounds, and more than 25 (the weights' ramp).
    const ramp = Array.from({ length: 30 }, (_, i) => 0.2 * ((i * 7919) % 101) / 100);
    const cases = [
      { d: floatDist(1e-6, 1e-3, { log: true }), obs: [3e-5, 5e-5, 2e-5, 1e-4], x: [1e-6, 3e-5] },
      { d: floatDist(0, 0.2), obs: [0.05, 0.07, 0.01], x: [0, 0.05, 0.1, 0.2] },
      { d: floatDist(0, 0.2), obs: ramp, x: [0, 0.03, 0.11, 0.2] },
      { d: floatDist(0, 1, { step: 0.25 }), obs: [0.25, 0.5, 0.5], x: [0, 0.25, 1] },
      { d: intDist(1, 5), obs: [3, 3, 4, 2], x: [1, 2, 3, 4, 5] },
      { d: intDist(1, 64, { log: true }), obs: [8, 16, 16], x: [1, 8, 64] },
      { d: categoricalDist([8, 16, 32]), obs: [1, 1, 0, 2, 1], x: [0, 1, 2] },
      { d: floatDist(-5, 10), obs: [], x: [-5, 0, 10] },
    ];
    const input = cases.map((c) => ({
      distribution: JSON.parse(distributionToJson(c.d)),
      observations: c.obs,
      x: c.x,
    }));
    const py = (fixed: boolean) => pythonJson<number[][]>(PY, ["parzen", fixed ? "1" : "0"], input);
    const [fixed, installed] = [await py(true), await py(false)];
    let differs = 0;
    for (const [i, c] of cases.entries()) {
      const ours = new ParzenEstimator(c.obs, c.d).logPdf(c.x);
      const discrete = c.d.kind === "categorical" || (c.d.kind === "int" && !c.d.log) ||
        (c.d.kind === "float" && c.d.step !== null);
      for (const [j, v] of ours.entries()) {
        const want = fixed[i][j],
          close = (a: number) => Math.abs(a - want) <= 1e-9 * Math.max(1, Math.abs(want));
        assert.ok(close(v), `case ${i} [${j}]: ${v} vs ${want}`);
        // Optuna before 3.5 (Debian's 3.1) left - log(bandwidth) out of each continuous kernel
        // (optuna#5109); its discrete and categorical masses are the same.
        if (discrete) assert.ok(close(installed[i][j]), `case ${i} [${j}] as installed`);
        else if (!close(installed[i][j])) differs++;
      }
    }
    console.log(`Optuna as installed differs at ${differs} of the 16 continuous points`);
  },
});
