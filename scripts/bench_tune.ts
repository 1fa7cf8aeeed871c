/**
 * `deno task bench:tune`: our samplers against Python Optuna 3.1's TPE (Debian python3-optuna, on
 * the same machine) on synthetic objectives — a noisy unimodal response in log learning rate (the
 * shape of a fine-tuning curve), Branin, and a 4-parameter mixed space (log lr, categorical batch
 * size, warm-up ratio, int epochs) — the mean, median and standard error of the best value after
 * each budget over many seeds, as one Markdown table (docs/tuning.md). Our random sampler is the
 * baseline. Optuna runs twice: as installed (Debian's 3.1), and with optuna/optuna#5110 applied
 * (the kernel density of Optuna >= 3.5, which ours computes: "optuna TPE, #5110 density"). The objectives are mirrored in `scripts/bench_tune_peer.py`; `--check` compares the
 * two languages' values on the same points.
 *
 * `--workers N` (default 4) adds a simulated study of N parallel workers: each trial takes a
 * pseudo-random 1–4 time units (the same in both languages), so trials finish out of order and
 * every suggestion is made while N − 1 others still run. Its rows are our TPE with and without
 * the constant liar and Optuna's `TPESampler(constant_liar=True)` under the same simulation; the
 * best value after B trials is over the first B trials to finish. `--workers 1` leaves it out.
 *
 * @example
 * ```sh
 * deno task bench:tune                       # 30 seeds, budgets 10,20,40: a few minutes
 * deno task bench:tune --seeds 5 --budgets 5,10 --json
 * ```
 *
 * @module
 */
import { join } from "node:path";
import { parseOptions } from "../cli/mod.ts";
import {
  categoricalDist,
  Direction,
  type DirectionValue,
  floatDist,
  intDist,
  JournalMemory,
  JournalStorage,
  NopPruner,
  type ParamValue,
  RandomSampler,
  type Sampler,
  Study,
  TpeSampler,
  type TrialHandle,
} from "../tune/mod.ts";

const TABLE = [
  { name: "seeds", type: "int", default: 30, min: 1, description: "Seeds per objective" },
  {
    name: "budgets",
    type: "string",
    default: "10,20,40",
    description: "Trials after which to read",
  },
  {
    name: "objectives",
    type: "string",
    default: "finetune,branin,mixed",
    description: "Comma-separated objectives",
  },
  {
    name: "python",
    type: "string",
    default: "/usr/bin/python3",
    description: "Python with optuna",
  },
  { name: "workers", type: "int", default: 4, min: 1, description: "Simulated parallel workers" },
  { name: "json", type: "boolean", default: false, description: "Print one JSON object" },
] as const;

type Params = Record<string, ParamValue>;

/** A deterministic noise term, the same in both languages. */
export function noise(seed: number, i: number, scale: number): number {
  const x = Math.sin(seed * 12.9898 + i * 78.233) * 43758.5453;
  return scale * (x - Math.floor(x) - 0.5);
}

/** One synthetic objective: its direction, search space and function. */
export interface SyntheticObjective {
  readonly direction: "maximize" | "minimize";
  suggest(trial: TrialHandle): Promise<Params>;
  value(p: Params, seed: number, i: number): number;
}

const log10 = Math.log10;

/** The objectives (mirrored in bench_tune_peer.py). */
export const OBJECTIVES: Readonly<Record<string, SyntheticObjective>> = {
  finetune: {
    direction: "maximize",
    suggest: async (t) => ({ lr: await t.suggest("lr", floatDist(1e-6, 1e-2, { log: true })) }),
    value: (p, seed, i) =>
      Math.max(
        0.85 - 0.06 * (log10(p.lr as number) - log10(3e-5)) ** 2 + noise(seed, i, 0.02),
        0.68,
      ),
  },
  branin: {
    direction: "minimize",
    suggest: async (t) => ({
      x1: await t.suggest("x1", floatDist(-5, 10)),
      x2: await t.suggest("x2", floatDist(0, 15)),
    }),
    value: (p) => {
      const x1 = p.x1 as number, x2 = p.x2 as number;
      const b = 5.1 / (4 * Math.PI ** 2), c = 5 / Math.PI, r = 6, s = 10, t = 1 / (8 * Math.PI);
      return (x2 - b * x1 ** 2 + c * x1 - r) ** 2 + s * (1 - t) * Math.cos(x1) + s;
    },
  },
  mixed: {
    direction: "maximize",
    suggest: async (t) => ({
      lr: await t.suggest("lr", floatDist(1e-6, 1e-3, { log: true })),
      batch_size: await t.suggest("batch_size", categoricalDist([8, 16, 32])),
      warmup_ratio: await t.suggest("warmup_ratio", floatDist(0, 0.2)),
      epochs: await t.suggest("epochs", intDist(1, 5)),
    }),
    value: (p, seed, i) => {
      const bestLr = 3e-5 * Math.sqrt((p.batch_size as number) / 16);
      const acc = 0.85 - 0.06 * (log10(p.lr as number) - log10(bestLr)) ** 2 -
        2 * ((p.warmup_ratio as number) - 0.06) ** 2 - 0.005 * ((p.epochs as number) - 3) ** 2 +
        noise(seed, i, 0.01);
      return Math.max(acc, 0.68);
    },
  },
};

/** An in-memory study of `budget` trials for `objective`, sampled by `sampler`. */
async function benchStudy(
  objective: SyntheticObjective,
  sampler: Sampler,
  budget: number,
): Promise<Study> {
  const direction: DirectionValue = objective.direction === "maximize"
    ? Direction.MAXIMIZE
    : Direction.MINIMIZE;
  const storage = new JournalStorage(new JournalMemory());
  const studyId = await storage.getOrCreateStudy("bench", direction);
  return new Study({
    storage,
    studyId,
    name: "bench",
    direction,
    sampler,
    pruner: new NopPruner(),
    nTrials: budget,
    gracePeriodSeconds: 3600,
    retryFailed: 0,
    log: () => {},
  });
}

/** The best-so-far curve of one study of `budget` trials. */
export async function curveOf(
  objective: SyntheticObjective,
  sampler: Sampler,
  seed: number,
  budget: number,
): Promise<number[]> {
  const study = await benchStudy(objective, sampler, budget);
  await study.optimize(async (t) => objective.value(await objective.suggest(t), seed, t.number));
  return bestSoFar(objective, (await study.trials()).map((t) => t.values![0]));
}

/** The best value after each of `values` (in order), for `objective`'s direction. */
function bestSoFar(objective: SyntheticObjective, values: readonly number[]): number[] {
  const better = objective.direction === "maximize" ? Math.max : Math.min;
  const best: number[] = [];
  for (const v of values) best.push(best.length === 0 ? v : better(best[best.length - 1], v));
  return best;
}

/** How long trial `i` of seed `seed`'s simulated study runs: 1 to 4 time units (as the peer's). */
export function duration(seed: number, i: number): number {
  return 1 + 3 * (noise(seed + 7, i, 1) + 0.5);
}

/**
 * The best-so-far curve, in order of finishing, of a study of `budget` trials run by `workers`
 * simulated workers: a worker asks for a trial (sampled while the others' trials run), it runs
 * for {@linkcode duration} time units, and the worker that finishes first asks next.
 */
export async function parallelCurveOf(
  objective: SyntheticObjective,
  sampler: Sampler,
  seed: number,
  budget: number,
  workers: number,
): Promise<number[]> {
  const study = await benchStudy(objective, sampler, budget);
  const running: { handle: TrialHandle; value: number; end: number }[] = [];
  let clock = 0, started = 0;
  const start = async () => {
    const handle = (await study.ask())!;
    const value = objective.value(await objective.suggest(handle), seed, handle.number);
    running.push({ handle, value, end: clock + duration(seed, handle.number) });
    started++;
  };
  while (started < budget && running.length < workers) await start();
  const finished: number[] = [];
  while (running.length > 0) {
    running.sort((a, b) => a.end - b.end || a.handle.number - b.handle.number);
    const done = running.shift()!;
    clock = done.end;
    await study.tell(done.handle.trial, { state: "complete", value: done.value });
    finished.push(done.value);
    if (started < budget) await start();
  }
  return bestSoFar(objective, finished);
}

/** Mean, median and standard error of the mean. */
export function stats(xs: readonly number[]): { mean: number; median: number; sem: number } {
  const n = xs.length, mean = xs.reduce((a, b) => a + b, 0) / n;
  const s = [...xs].sort((a, b) => a - b);
  const median = n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
  const variance = n > 1 ? xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (n - 1) : 0;
  return { mean, median, sem: Math.sqrt(variance / n) };
}

/**
 * Optuna's curves for `name`; `fixed`: with optuna/optuna#5110 applied (the normalised kernel
 * density of Optuna >= 3.5 and of our TPE; Optuna 3.1 weighs each kernel by its bandwidth).
 */
async function optunaCurves(
  python: string,
  name: string,
  seeds: number,
  budget: number,
  options: { workers?: number; fixed?: boolean } = {},
): Promise<number[][]> {
  const peer = join(new URL(".", import.meta.url).pathname, "bench_tune_peer.py");
  const workers = options.workers ?? 1;
  const args = workers > 1
    ? ["parallel", name, String(seeds), String(budget), String(workers)]
    : ["run", name, String(seeds), String(budget)];
  if (options.fixed) args.push("fixed");
  const out = await new Deno.Command(python, {
    args: [peer, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(`Optuna peer failed: ${new TextDecoder().decode(out.stderr).trim()}`);
  }
  return JSON.parse(new TextDecoder().decode(out.stdout));
}

/** The row of Optuna with the Parzen estimator's density fixed as in Optuna >= 3.5 (#5110). */
const FIXED = "optuna TPE, #5110 density";

async function main(): Promise<void> {
  const o = parseOptions(TABLE, Deno.args);
  const budgets = o.budgets.split(",").map(Number);
  const budget = Math.max(...budgets);
  const rows: Record<string, unknown>[] = [];
  for (const name of o.objectives.split(",")) {
    const objective = OBJECTIVES[name];
    if (!objective) throw new Error(`Unknown objective "${name}"`);
    const t0 = performance.now();
    const curves: Record<string, number[][]> = {
      "optuna TPE": [],
      [FIXED]: [],
      "our TPE": [],
      "our random": [],
    };
    const w = o.workers;
    const parallel = {
      plain: `our TPE, ${w} workers`,
      liar: `our TPE + constant liar, ${w} workers`,
      optuna: `optuna TPE + constant liar, ${w} workers`,
      fixed: `${FIXED} + constant liar, ${w} workers`,
    };
    if (w > 1) { for (const k of Object.values(parallel)) curves[k] = []; }
    for (let seed = 0; seed < o.seeds; seed++) {
      curves["our TPE"].push(await curveOf(objective, new TpeSampler({ seed }), seed, budget));
      curves["our random"].push(
        await curveOf(objective, new RandomSampler({ seed }), seed, budget),
      );
      if (w > 1) {
        curves[parallel.plain].push(
          await parallelCurveOf(objective, new TpeSampler({ seed }), seed, budget, w),
        );
        curves[parallel.liar].push(
          await parallelCurveOf(
            objective,
            new TpeSampler({ seed, constantLiar: true }),
            seed,
            budget,
            w,
          ),
        );
      }
    }
    const ours = (performance.now() - t0) / 1000;
    const t1 = performance.now();
    curves["optuna TPE"] = await optunaCurves(o.python, name, o.seeds, budget);
    curves[FIXED] = await optunaCurves(o.python, name, o.seeds, budget, { fixed: true });
    if (w > 1) {
      curves[parallel.optuna] = await optunaCurves(o.python, name, o.seeds, budget, { workers: w });
      curves[parallel.fixed] = await optunaCurves(o.python, name, o.seeds, budget, {
        workers: w,
        fixed: true,
      });
    }
    const theirs = (performance.now() - t1) / 1000;
    console.error(
      `${name}: ours ${ours.toFixed(1)} s (TPE + random), Optuna ${theirs.toFixed(1)} s`,
    );
    for (const [sampler, cs] of Object.entries(curves)) {
      for (const b of budgets) {
        rows.push({
          objective: `${name} (${objective.direction})`,
          sampler,
          budget: b,
          ...stats(cs.map((c) => c[b - 1])),
        });
      }
    }
  }
  if (o.json) {
    console.log(JSON.stringify({ seeds: o.seeds, rows }));
    return;
  }
  const f = (x: unknown) => (x as number).toFixed(4);
  console.log(
    `| objective | sampler | ${
      budgets.map((b) => `${b} trials: mean ± sem (median)`).join(" | ")
    } |`,
  );
  console.log(`| --- | --- | ${budgets.map(() => "---").join(" | ")} |`);
  const keys = [...new Set(rows.map((r) => `${r.objective}\u0000${r.sampler}`))];
  for (const key of keys) {
    const [objective, sampler] = key.split("\u0000");
    const cells = budgets.map((b) => {
      const r = rows.find((x) =>
        x.objective === objective && x.sampler === sampler && x.budget === b
      )!;
      return `${f(r.mean)} ± ${f(r.sem)} (${f(r.median)})`;
    });
    console.log(`| ${objective} | ${sampler} | ${cells.join(" | ")} |`);
  }
}

if (import.meta.main) await main();
