import assert from "node:assert/strict";
import { join } from "node:path";
import { type ParamValue, RandomSampler, TpeSampler } from "../../tune/mod.ts";
import {
  curveOf,
  duration,
  noise,
  OBJECTIVES,
  parallelCurveOf,
  stats,
} from "../../scripts/bench_tune.ts";
import { needsPython, pythonJson, REPO_ROOT } from "../_helpers.ts";

Deno.test("bench:tune: stats and best-so-far curves", async () => {
  assert.deepEqual(stats([1, 2, 3, 10]), { mean: 4, median: 2.5, sem: Math.sqrt(50 / 3 / 4) });
  const curve = await curveOf(OBJECTIVES.branin, new RandomSampler({ seed: 1 }), 1, 12);
  assert.equal(curve.length, 12);
  for (let i = 1; i < curve.length; i++) assert.ok(curve[i] <= curve[i - 1], "minimised: never up");
  const up = await curveOf(OBJECTIVES.finetune, new TpeSampler({ seed: 1 }), 1, 12);
  for (let i = 1; i < up.length; i++) assert.ok(up[i] >= up[i - 1], "maximised: never down");
  assert.ok(Math.abs(noise(3, 4, 0.02)) <= 0.01);
  // Branin's known minimum value at (π, 2.275).
  assert.ok(Math.abs(OBJECTIVES.branin.value({ x1: Math.PI, x2: 2.275 }, 0, 0) - 0.397887) < 1e-5);
});

Deno.test("bench:tune: the simulated 4-worker study finishes trials out of order", async () => {
  const ds = Array.from({ length: 40 }, (_, i) => duration(5, i));
  assert.ok(ds.every((d) => d >= 1 && d <= 4));
  assert.ok(new Set(ds.map((d) => Math.floor(d))).size >= 3, "durations spread over 1-4");
  const curve = await parallelCurveOf(
    OBJECTIVES.finetune,
    new TpeSampler({ seed: 5, constantLiar: true }),
    5,
    16,
    4,
  );
  assert.equal(curve.length, 16);
  for (let i = 1; i < curve.length; i++) assert.ok(curve[i] >= curve[i - 1], "never down");
});

Deno.test({
  name: "bench:tune: the Python peer's objectives give the same values on the same points",
  ignore: needsPython(["optuna"], "bench:tune peer parity"),
  fn: async () => {
    for (const [name, objective] of Object.entries(OBJECTIVES)) {
      const points: { params: Record<string, ParamValue>; seed: number; i: number }[] = [];
      for (let i = 0; i < 20; i++) {
        const p: Record<string, ParamValue> = name === "finetune"
          ? { lr: 10 ** (-6 + 4 * ((i * 0.37) % 1)) }
          : name === "branin"
          ? { x1: -5 + 15 * ((i * 0.61) % 1), x2: 15 * ((i * 0.29) % 1) }
          : {
            lr: 10 ** (-6 + 3 * ((i * 0.37) % 1)),
            batch_size: [8, 16, 32][i % 3],
            warmup_ratio: 0.2 * ((i * 0.53) % 1),
            epochs: 1 + (i % 5),
          };
        points.push({ params: p, seed: i % 7, i });
      }
      const theirs = await pythonJson<number[]>(
        join(REPO_ROOT, "scripts", "bench_tune_peer.py"),
        ["eval", name],
        points,
      );
      const ours = points.map((p) => objective.value(p.params, p.seed, p.i));
      for (const [k, v] of ours.entries()) {
        assert.ok(Math.abs(v - theirs[k]) < 1e-9, `${name} point ${k}: ${v} vs ${theirs[k]}`);
      }
    }
  },
});

Deno.test({
  name: "bench:tune: a small run prints one row per objective, sampler and budget",
  ignore: needsPython(["optuna"], "bench:tune small run"),
  fn: async () => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        join(REPO_ROOT, "scripts", "bench_tune.ts"),
        "--seeds",
        "2",
        "--budgets",
        "3,12",
        "--json",
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.ok(out.success, new TextDecoder().decode(out.stderr));
    const { seeds, rows } = JSON.parse(new TextDecoder().decode(out.stdout));
    assert.equal(seeds, 2);
    // 3 objectives × (Optuna TPE as installed and with #5110, ours, random, and the 4 simulated
    // 4-worker rows) × 2 budgets.
    assert.equal(rows.length, 3 * 8 * 2);
    assert.ok(
      rows.some((r: { sampler: string }) => r.sampler.startsWith("optuna TPE + constant liar")),
    );
    for (const r of rows) {
      assert.ok(Number.isFinite(r.mean) && Number.isFinite(r.sem), JSON.stringify(r));
    }
  },
});
