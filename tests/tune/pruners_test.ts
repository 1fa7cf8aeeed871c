import assert from "node:assert/strict";
import {
  Direction,
  MedianPruner,
  nanPercentile,
  promotable,
  SuccessiveHalvingPruner,
  type Trial,
  TrialState,
} from "../../tune/mod.ts";
import { handTrial } from "./_study.ts";

const { COMPLETE, RUNNING, PRUNED } = TrialState;

/** Five COMPLETE trials with accuracy 0.5, 0.6, 0.7, 0.8, 0.9 at step 10 and 0.6..1.0 at 20. */
function finished(): Trial[] {
  return [0.5, 0.6, 0.7, 0.8, 0.9].map((v, i) =>
    handTrial(i, COMPLETE, [[10, v], [20, v + 0.1]], { value: v + 0.1 })
  );
}

async function decide(
  pruner: MedianPruner | SuccessiveHalvingPruner,
  trials: Trial[],
  trial: Trial,
  direction: typeof Direction.MINIMIZE | typeof Direction.MAXIMIZE = Direction.MAXIMIZE,
): Promise<boolean> {
  return await pruner.prune({
    trials: [...trials, trial],
    direction,
    trial,
    setSystemAttr: (key, value) => {
      trial.systemAttrs[key] = value;
      return Promise.resolve();
    },
  });
}

Deno.test("numpy-style percentile: linear interpolation, NaNs ignored", () => {
  assert.equal(nanPercentile([1, 2, 3, 4], 50), 2.5);
  assert.equal(nanPercentile([3, NaN, 1, 2], 50), 2);
  assert.ok(Math.abs(nanPercentile([0, 10], 25) - 2.5) < 1e-12);
  assert.ok(Number.isNaN(nanPercentile([NaN], 50)));
});

Deno.test("median pruner: prunes below the median of COMPLETE trials at that step", async () => {
  const p = new MedianPruner();
  // Median at step 10 is 0.7 (maximize): 0.65 is pruned, 0.75 goes on.
  assert.equal(await decide(p, finished(), handTrial(5, RUNNING, [[10, 0.65]])), true);
  assert.equal(await decide(p, finished(), handTrial(5, RUNNING, [[10, 0.75]])), false);
  // The trial's best so far counts, not its latest: 0.9 at step 10, then 0.7 at step 20 (< 0.8).
  assert.equal(await decide(p, finished(), handTrial(5, RUNNING, [[10, 0.9], [20, 0.7]])), false);
  // Minimising: the median at step 10 is 0.7 again, and 0.65 is now good.
  assert.equal(
    await decide(p, finished(), handTrial(5, RUNNING, [[10, 0.65]]), Direction.MINIMIZE),
    false,
  );
  assert.equal(
    await decide(p, finished(), handTrial(5, RUNNING, [[10, 0.75]]), Direction.MINIMIZE),
    true,
  );
  // A step no COMPLETE trial reported: no median, no pruning.
  assert.equal(await decide(p, finished(), handTrial(5, RUNNING, [[15, 0.1]])), false);
  // A NaN-only trial is pruned.
  assert.equal(await decide(p, finished(), handTrial(5, RUNNING, [[10, NaN]])), true);
});

Deno.test("median pruner: startup trials, warm-up steps and PRUNED trials do not count", async () => {
  const four = finished().slice(0, 4);
  const low = () => handTrial(5, RUNNING, [[10, 0.1]]);
  assert.equal(await decide(new MedianPruner(), four, low()), false, "fewer than 5 COMPLETE");
  const prunedToo = [...four, handTrial(4, PRUNED, [[10, 0.9]])];
  assert.equal(await decide(new MedianPruner(), prunedToo, low()), false, "PRUNED is not COMPLETE");
  assert.equal(await decide(new MedianPruner({ nStartupTrials: 4 }), four, low()), true);
  assert.equal(await decide(new MedianPruner({ nWarmupSteps: 11 }), finished(), low()), false);
  assert.equal(await decide(new MedianPruner({ nWarmupSteps: 10 }), finished(), low()), true);
});

Deno.test("ASHA: promotion is the top 1/reduction_factor of a rung (Optuna's rule)", () => {
  // 8 values at a rung, factor 4: the top 2 go on (index 8 // 4 - 1 = 1 from the best).
  const rung = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8];
  assert.equal(promotable(0.7, rung, 4, Direction.MAXIMIZE), true);
  assert.equal(promotable(0.6, rung, 4, Direction.MAXIMIZE), false);
  assert.equal(promotable(0.2, rung, 4, Direction.MINIMIZE), true);
  assert.equal(promotable(0.3, rung, 4, Direction.MINIMIZE), false);
  // Fewer than 4 at the rung: only the best goes on.
  assert.equal(promotable(0.5, [0.5, 0.4], 4, Direction.MAXIMIZE), true);
  assert.equal(promotable(0.4, [0.5, 0.4], 4, Direction.MAXIMIZE), false);
});

Deno.test("ASHA: rungs at min_resource·4^k, min_resource auto = last step // 100", async () => {
  // COMPLETE trials ran to step 400: min_resource = 4, rungs at steps 4, 16, 64, 256.
  const rungs = (values: number[]) =>
    values.map((v, i) =>
      handTrial(i, COMPLETE, [[400, v]], {
        value: v,
        systemAttrs: { completed_rung_0: v, completed_rung_1: v },
      })
    );
  const done = rungs([0.5, 0.6, 0.7, 0.8, 0.9, 0.55, 0.65, 0.75]);
  // Step 3 is below the first rung: no decision, nothing recorded.
  const early = handTrial(8, RUNNING, [[3, 0.1]]);
  assert.equal(await decide(new SuccessiveHalvingPruner(), done, early), false);
  assert.equal("completed_rung_0" in early.systemAttrs, false);
  // Step 4 is rung 0: of the 9 values there, the top 2 go on (9 // 4 = 2).
  const good = handTrial(8, RUNNING, [[4, 0.85]]);
  assert.equal(await decide(new SuccessiveHalvingPruner(), done, good), false);
  assert.equal(good.systemAttrs.completed_rung_0, 0.85);
  const poor = handTrial(8, RUNNING, [[4, 0.78]]); // below 0.8, the second best of 9
  assert.equal(await decide(new SuccessiveHalvingPruner(), done, poor), true);
  // Step 16 passes rungs 0 and 1 at once: both recorded, both must promote.
  const far = handTrial(8, RUNNING, [[16, 0.95]]);
  assert.equal(await decide(new SuccessiveHalvingPruner(), done, far), false);
  assert.deepEqual([far.systemAttrs.completed_rung_0, far.systemAttrs.completed_rung_1], [
    0.95,
    0.95,
  ]);
  // An explicit min_resource and reduction factor.
  const pruner = new SuccessiveHalvingPruner({ minResource: 10, reductionFactor: 2 });
  const t = handTrial(8, RUNNING, [[10, 0.6]]);
  assert.equal(await decide(pruner, [], t), false, "alone at rung 0: the best");
  const mid = handTrial(9, RUNNING, [[10, 0.5]]);
  assert.equal(await decide(pruner, [t], mid), true, "not the best of 2 at rung 0");
  // With the 8 finished trials at rung 0 too: the top 9 // 2 = 4 (0.9, 0.8, 0.75, 0.7) go on.
  const third = handTrial(10, RUNNING, [[10, 0.7]]);
  assert.equal(await decide(pruner, done, third), false);
  const fourth = handTrial(10, RUNNING, [[10, 0.68]]);
  assert.equal(await decide(pruner, done, fourth), true);
});
