/**
 * The benchmark's arithmetic with an injected clock and fake steps, so that what is timed and
 * how it is extrapolated is pinned independently of the machine.
 */
import assert from "node:assert/strict";
import type { Batch } from "../../data/mod.ts";
// Private: the timing arithmetic is tested with a fake clock and a fake stepper, which the
// public runBench (real model, real clock) cannot take.
import {
  epochEstimateSeconds,
  epochSliceTiming,
  evalSeconds,
  type Evaluator,
  type Stepper,
  trainRates,
  trainStepSeconds,
} from "../../bench/_parts.ts";
import { tinyConfig } from "../_helpers.ts";

/** A stepper whose steps take the given seconds on a fake clock (ms), recording each batch. */
function fakeSteps(seconds: number[]): { stepper: Stepper; clock: () => number; seen: Batch[] } {
  let now = 0;
  const seen: Batch[] = [];
  const stepper: Stepper = {
    step(batches) {
      seen.push(batches[0]);
      now += 1000 * (seconds.shift() ?? NaN);
      return { loss: 0.5, gradNorm: 1, applied: true, passes: 1 };
    },
  };
  return { stepper, clock: () => now, seen };
}

function batch(rows: number, seqLen: number, tag: number): Batch {
  const ids = new Int32Array(rows * seqLen).fill(tag);
  return {
    batchSize: rows,
    seqLen,
    inputIds: ids,
    attentionMask: new Int32Array(rows * seqLen).fill(1),
    labels: new Int32Array(rows),
    indices: Array.from({ length: rows }, (_, i) => i),
  };
}

const quiet = { seed: 1, log: () => {} };

Deno.test("bench parts: warm-up steps are run but not timed", () => {
  const { stepper, clock, seen } = fakeSteps([30, 2, 4, 3]);
  const times = trainStepSeconds(stepper, batch(2, 8, 5), {
    ...quiet,
    warmup: 1,
    steps: 3,
    clock,
  });
  assert.deepEqual(times, [2, 4, 3]);
  assert.equal(seen.length, 4);
});

Deno.test("bench parts: the evaluation warm-up pass is run but not timed", async () => {
  // Each pass runs the batch as chunks of 2 rows: chunk k of pass p takes seconds[p][k].
  const seconds = [[20, 10], [1, 2], [2, 2], [1.5, 1.5]];
  let now = 0, pass = 0, chunk = 0;
  const passes: number[] = [];
  const model: Evaluator = {
    logits(b) {
      assert.equal(b.batchSize, 2);
      return {
        data() {
          now += 1000 * seconds[pass][chunk];
          passes.push(pass);
          chunk = (chunk + 1) % 2;
          if (chunk === 0) pass++;
          return Promise.resolve(null);
        },
        dispose() {},
      };
    },
  };
  const times = await evalSeconds(model, batch(4, 8, 1), {
    ...quiet,
    warmup: 1,
    steps: 3,
    rows: 2,
    clock: () => now,
  });
  assert.deepEqual(times, [3, 4, 3], "the 30 s warm-up pass is not among the timed passes");
  assert.deepEqual(passes, [0, 0, 1, 1, 2, 2, 3, 3], "every pass ran, warm-up included");
});

Deno.test("bench parts: examples/s and GFLOP/s follow from the median and the stated FLOPs", () => {
  const config = tinyConfig({ n_layers: 2, dim: 16, hidden_dim: 32 });
  // 6 × encoder matmul weights × tokens: 6 · 2·(4·16² + 2·16·32) · (4 · 10) = 983,040 FLOPs.
  const rates = trainRates(config, { batch: 4, seqLen: 10 }, [2, 4, 3]);
  assert.equal(rates.medianStepSeconds, 3);
  assert.equal(rates.examplesPerSecond, 4 / 3);
  assert.ok(Math.abs(rates.gflops - 983_040 / 3 / 1e9) < 1e-18, `${rates.gflops}`);
});

Deno.test("bench parts: the epoch estimate is timed seconds × all tokens ÷ timed tokens", () => {
  // Ten batches of 4 rows: lengths 8, 16, ..., 80 tokens (no micro-batch split).
  const batches = Array.from({ length: 10 }, (_, i) => batch(4, 8 * (i + 1), i));
  const { stepper, clock, seen } = fakeSteps([50, 60, 1.5, 2.5]);
  const slice = epochSliceTiming(stepper, batches, {
    ...quiet,
    warmup: 2,
    steps: 2,
    clock,
    maxRows: () => 100,
  });
  // Warm-up on the first two batches (as the PyTorch peer), then two batches spread over the
  // epoch; only those two are timed.
  assert.deepEqual(seen.slice(0, 2).map((b) => b.inputIds[0]), [0, 1]);
  assert.equal(slice.batchesTimed, 2);
  assert.equal(slice.secondsTimed, 4);
  const timedTokens = seen.slice(2).reduce((n, b) => n + b.batchSize * b.seqLen, 0);
  assert.equal(slice.tokensTimed, timedTokens);
  assert.equal(slice.epochTokens, 4 * 8 * (1 + 2 + 3 + 4 + 5 + 6 + 7 + 8 + 9 + 10));
  assert.equal(epochEstimateSeconds(slice), 4 * slice.epochTokens / timedTokens);
  assert.equal(
    epochEstimateSeconds({ batchesTimed: 2, secondsTimed: 6, tokensTimed: 100, epochTokens: 1000 }),
    60,
  );
});
