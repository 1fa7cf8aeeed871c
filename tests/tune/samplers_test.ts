import assert from "node:assert/strict";
import {
  categoricalDist,
  Direction,
  type Distribution,
  floatDist,
  gridPoints,
  intDist,
  JournalFile,
  parseLrGrid,
  RandomSampler,
  type Sampler,
  TpeSampler,
  type TrialHandle,
  TrialState,
} from "../../tune/mod.ts";
import { withTempDir } from "../_helpers.ts";
import { makeStudy } from "./_study.ts";

Deno.test("lr grid: 1e-5:1e-4:2 is 1e-5, 2e-5, 4e-5, 8e-5; a factor of 10 reaches HIGH exactly", () => {
  assert.deepEqual(parseLrGrid("1e-5:1e-4:2"), [1e-5, 2e-5, 4e-5, 8e-5]);
  assert.deepEqual(parseLrGrid("1e-6:1e-4:10"), [1e-6, 1e-5, 1e-4]);
  assert.deepEqual(parseLrGrid("3e-5:3e-5:2"), [3e-5]);
  for (const bad of ["1e-4:1e-5:2", "1e-5:1e-4:1", "0:1e-4:2", "1e-5:1e-4", "a:b:c"]) {
    assert.throws(() => parseLrGrid(bad), /Invalid value for --lr_grid/);
  }
});

Deno.test("grid points: the product of every parameter's values, the first parameter slowest", () => {
  const space = new Map<string, Distribution>([
    ["lr", categoricalDist([1e-5, 2e-5])],
    ["batch_size", categoricalDist([16, 32])],
    ["epochs", intDist(2, 3)],
  ]);
  assert.deepEqual(gridPoints(space), [
    { lr: 1e-5, batch_size: 16, epochs: 2 },
    { lr: 1e-5, batch_size: 16, epochs: 3 },
    { lr: 1e-5, batch_size: 32, epochs: 2 },
    { lr: 1e-5, batch_size: 32, epochs: 3 },
    { lr: 2e-5, batch_size: 16, epochs: 2 },
    { lr: 2e-5, batch_size: 16, epochs: 3 },
    { lr: 2e-5, batch_size: 32, epochs: 2 },
    { lr: 2e-5, batch_size: 32, epochs: 3 },
  ]);
  assert.deepEqual(gridPoints(new Map([["w", floatDist(0, 0.2, { step: 0.1 })]])), [
    { w: 0 },
    { w: 0.1 },
    { w: 0.2 },
  ]);
  assert.throws(() => gridPoints(new Map([["w", floatDist(0, 1)]])), /Cannot make a grid over "w"/);
});

Deno.test("grid: two workers on one journal file run every point exactly once", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/journal.log`;
    const points = parseLrGrid("1e-6:1e-4:1.5").map((lr) => ({ lr })); // 12 points
    const sampler = new RandomSampler({ seed: 1 });
    const first = await makeStudy(sampler, {
      backend: await new JournalFile(path).open(),
      queueOnly: true,
      nTrials: 100,
    });
    await first.enqueue(points);
    const second = await makeStudy(sampler, {
      backend: await new JournalFile(path).open(),
      queueOnly: true,
      nTrials: 100,
    });
    const ran: number[][] = [[], []];
    const objective = (who: number) => async (trial: TrialHandle) => {
      const lr = await trial.suggest("lr", categoricalDist(points.map((p) => p.lr))) as number;
      ran[who].push(lr);
      await new Promise((r) => setTimeout(r, 5 + Math.random() * 10));
      return Math.log10(lr);
    };
    await Promise.all([first.optimize(objective(0)), second.optimize(objective(1))]);
    assert.ok(ran[0].length > 0 && ran[1].length > 0, `both workers ran trials: ${ran}`);
    assert.deepEqual([...ran[0], ...ran[1]].sort((a, b) => a - b), points.map((p) => p.lr));
    const trials = await first.trials();
    assert.equal(trials.length, points.length);
    assert.ok(trials.every((t) => t.state === TrialState.COMPLETE));
    // The study ends when its grid is exhausted, not at nTrials.
    assert.equal(await first.ask(), null);
  });
});

/** Kolmogorov–Smirnov distance of `xs` from the uniform distribution on [lo, hi]. */
function ksUniform(xs: number[], lo: number, hi: number): number {
  const s = [...xs].sort((a, b) => a - b);
  let d = 0;
  s.forEach((x, i) => {
    const f = (x - lo) / (hi - lo);
    d = Math.max(d, Math.abs(f - i / s.length), Math.abs(f - (i + 1) / s.length));
  });
  return d;
}

async function draws(sampler: Sampler, n: number, name = "lr"): Promise<number[]> {
  const study = await makeStudy(sampler, { nTrials: n });
  const out: number[] = [];
  await study.optimize(async (trial) => {
    const lr = await trial.suggest(name, floatDist(1e-6, 1e-4, { log: true })) as number;
    out.push(lr);
    return 0;
  });
  return out;
}

Deno.test("random sampler: log-uniform draws are uniform in log space (KS test)", async () => {
  const n = 400;
  const xs = await draws(new RandomSampler({ seed: 42 }), n);
  assert.ok(xs.every((x) => x >= 1e-6 && x <= 1e-4));
  const critical = 1.36 / Math.sqrt(n); // α = 0.05
  const logD = ksUniform(xs.map(Math.log10), -6, -4);
  assert.ok(logD < critical, `KS distance in log space ${logD} < ${critical}`);
  // Uniform in log space is far from uniform in linear space: the test can tell them apart.
  const linD = ksUniform(xs, 1e-6, 1e-4);
  assert.ok(linD > 3 * critical, `KS distance in linear space ${linD} is large`);
});

Deno.test("samplers: the same seed gives the same suggestions; another seed others", async () => {
  for (
    const make of [
      (s: number) => new RandomSampler({ seed: s }),
      (s: number) => new TpeSampler({ seed: s, nStartupTrials: 3 }),
    ]
  ) {
    const run = async (seed: number) => {
      const study = await makeStudy(make(seed), { nTrials: 8 });
      const seen: unknown[] = [];
      await study.optimize(async (trial) => {
        const lr = await trial.suggest("lr", floatDist(1e-6, 1e-4, { log: true })) as number;
        const bs = await trial.suggest("batch_size", categoricalDist([8, 16, 32]));
        const ep = await trial.suggest("epochs", intDist(1, 5));
        seen.push([lr, bs, ep]);
        return (Math.log10(lr) + 4.5) ** 2;
      });
      return seen;
    };
    assert.deepEqual(await run(7), await run(7));
    assert.notDeepEqual(await run(7), await run(8));
  }
});

/** A noisy unimodal response in log10(lr), minimised at lr = 3e-5 (a fine-tuning curve's shape). */
function fineTuneCurve(lr: number, noise: number): number {
  return (Math.log10(lr) - Math.log10(3e-5)) ** 2 + noise;
}

Deno.test("TPE beats random search on a noisy log-lr objective, averaged over 20 seeds", async () => {
  const budget = 30;
  const bestOf = async (sampler: Sampler, seed: number) => {
    const study = await makeStudy(sampler, { nTrials: budget });
    let i = 0;
    await study.optimize(async (trial) => {
      const lr = await trial.suggest("lr", floatDist(1e-7, 1e-2, { log: true })) as number;
      const noise = 0.02 * Math.sin(seed * 7919 + i++ * 104729); // deterministic noise
      return fineTuneCurve(lr, noise);
    });
    const values = (await study.trials()).map((t) => t.values![0]);
    return Math.min(...values);
  };
  let tpe = 0, random = 0;
  for (let seed = 0; seed < 20; seed++) {
    tpe += await bestOf(new TpeSampler({ seed }), seed);
    random += await bestOf(new RandomSampler({ seed }), seed);
  }
  assert.ok(tpe < random, `mean best: TPE ${tpe / 20} < random ${random / 20}`);
});

Deno.test("TPE: finished trials steer it, the direction decides which are good", async () => {
  // After the startup trials, a maximised objective pulls suggestions up, a minimised one down.
  const late = async (direction: typeof Direction.MINIMIZE | typeof Direction.MAXIMIZE) => {
    const study = await makeStudy(new TpeSampler({ seed: 3 }), { nTrials: 30, direction });
    const xs: number[] = [];
    await study.optimize(async (trial) => {
      const x = await trial.suggest("x", floatDist(0, 1)) as number;
      xs.push(x);
      return x;
    });
    return xs.slice(15).reduce((a, b) => a + b, 0) / 15;
  };
  assert.ok(await late(Direction.MINIMIZE) < 0.3);
  assert.ok(await late(Direction.MAXIMIZE) > 0.7);
});

/** Rounds of `workers` trials asked together (each sampled while the others run), then told. */
async function parallelRounds(sampler: Sampler, workers: number, rounds: number) {
  const study = await makeStudy(sampler, { nTrials: 12 + workers * rounds });
  const f = (x: number) => (x - 0.3) ** 2;
  for (let i = 0; i < 12; i++) { // the startup trials, one at a time
    const h = (await study.ask())!;
    await study.tell(h.trial, {
      state: "complete",
      value: f(await h.suggest("x", floatDist(0, 1)) as number),
    });
  }
  const spreads: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const handles: TrialHandle[] = [], xs: number[] = [];
    for (let w = 0; w < workers; w++) {
      const h = (await study.ask())!;
      handles.push(h);
      xs.push(await h.suggest("x", floatDist(0, 1)) as number);
    }
    spreads.push(Math.max(...xs) - Math.min(...xs));
    for (const [w, h] of handles.entries()) {
      await study.tell(h.trial, { state: "complete", value: f(xs[w]) });
    }
  }
  return spreads.reduce((a, b) => a + b, 0) / spreads.length;
}

Deno.test("TPE constant liar: alone it is plain TPE; with trials running it spreads the workers", async () => {
  // One worker: the only running trial is the one being sampled, so the suggestions are equal.
  for (const seed of [1, 2, 3]) {
    const alone = async (constantLiar: boolean) => {
      const study = await makeStudy(new TpeSampler({ seed, constantLiar }), { nTrials: 15 });
      const xs: number[] = [];
      await study.optimize(async (t) => {
        const x = await t.suggest("x", floatDist(0, 1)) as number;
        xs.push(x);
        return (x - 0.3) ** 2;
      });
      return xs;
    };
    assert.deepEqual(await alone(true), await alone(false));
  }
  // Four workers asking together: plain TPE piles them onto one point, the liar spreads them.
  let plain = 0, liar = 0;
  for (let seed = 0; seed < 10; seed++) {
    plain += await parallelRounds(new TpeSampler({ seed }), 4, 4);
    liar += await parallelRounds(new TpeSampler({ seed, constantLiar: true }), 4, 4);
  }
  assert.ok(
    liar > 1.5 * plain,
    `mean spread of 4 concurrent points: liar ${liar / 10}, plain ${plain / 10}`,
  );
});
